using Akka.Actor;
using Akka.Persistence;

namespace Twin.Persistence.Sql;

/// <summary>
/// Stands where a persistent actor stands in Akka's journal protocol: receives the outcome of one
/// WriteMessages (the batch's result, then one reply per event) and completes the writer's wait
/// once every event is accounted for, with the first failure or rejection if there was one.
/// </summary>
internal sealed class WriteReplies : UntypedActor
{
    internal sealed record Expect(int Events, TaskCompletionSource<Exception?> Done);

    private Expect? _expect;
    private int _remaining;
    private bool _batchAnswered;
    private Exception? _failure;

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Expect e:
                _expect = e;
                _remaining = e.Events;
                _batchAnswered = false;
                _failure = null;
                break;
            case WriteMessagesSuccessful:
                _batchAnswered = true;
                break;
            case WriteMessagesFailed f:
                _batchAnswered = true;
                _failure ??= f.Cause;
                break;
            case WriteMessageSuccess:
                _remaining--;
                break;
            case WriteMessageRejected r:
                _remaining--;
                _failure ??= r.Cause;
                break;
            case WriteMessageFailure f:
                _remaining--;
                _failure ??= f.Cause;
                break;
            default:
                Unhandled(message);
                return;
        }
        if (_expect is not null && _batchAnswered && _remaining == 0)
        {
            _expect.Done.TrySetResult(_failure);
            _expect = null;
        }
    }
}
