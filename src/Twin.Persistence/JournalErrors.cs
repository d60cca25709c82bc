namespace Twin.Persistence;

/// <summary>
/// Base of every error a journal reports about its input or its peers. The CLI turns these into
/// one line and exit code 2; the message must say what is wrong and where.
/// </summary>
public class JournalException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The file or database is not a Twin journal, or one of a format this build cannot read.</summary>
public sealed class JournalFormatException(string message, Exception? inner = null) : JournalException(message, inner);

/// <summary>A row is truncated, garbled or inconsistent. The message names the row.</summary>
public sealed class JournalCorruptException(string message, Exception? inner = null) : JournalException(message, inner);

/// <summary>Another writer holds the run, or a (persistence_id, sequence_number) pair was already written.</summary>
public sealed class JournalConflictException(string message, Exception? inner = null) : JournalException(message, inner);

/// <summary>The storage failed: disk full, unwritable file, lost connection.</summary>
public class JournalStorageException(string message, Exception? inner = null) : JournalException(message, inner);

/// <summary>
/// The storage could not be reached for now (the server went away, the connection broke, the file
/// stayed locked): the same operation may well succeed if tried again on a new connection.
/// </summary>
public sealed class JournalUnavailableException(string message, Exception? inner = null) : JournalStorageException(message, inner);

/// <summary>A resume found the re-executed run different from the stored prefix: it was written by another build or config.</summary>
public sealed class JournalResumeException(string message) : JournalException(message);
