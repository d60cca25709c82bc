using Twin.Kernel.Tasks;
using Twin.Simulation.Config;
using Twin.Simulation.Scenarios;

namespace Twin.Simulation.Tests;

/// <summary>A malformed scenario is refused with the place of the mistake.</summary>
public sealed class ScenarioParserTests
{
    private const string Ok = """{ "name": "x", "process": "p", "steps": [{ "spin_ns": 10 }] }""";

    [Theory]
    [InlineData("""{ "tasks": [ __ ], "colour": "red" }""", "unknown key 'colour'")]
    [InlineData("""{ "tasks": [] }""", "tasks must be a non-empty array")]
    [InlineData("""{ "tasks": [ { "name": "k", "kthread": true, "steps": [{ "membarrier": "QUERY" }] } ] }""", "tasks[0] ('k').steps[0]: a kernel thread cannot take a 'membarrier' step")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "use_mm": "p" }] } ] }""", "only kernel threads take 'use_mm'")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "spin_ns": 5, "sleep_ns": 5 }] } ] }""", "needs exactly one of")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "fork": "ghost" }] } ] }""", "fork of unknown task 'ghost'")]
    [InlineData("""{ "tasks": [ __, { "name": "y", "process": "p", "steps": [{ "exec": true }] } ] }""", "exec in a multi-threaded process")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "membarrier": "FLY" }] } ] }""", "'FLY' is not a membarrier command")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "membarrier": "QUERY", "expect": 0, "expectErrno": "EPERM" }] } ] }""", "exclude each other")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "membarrier": "QUERY", "expectErrno": "EFUN" }] } ] }""", "'EFUN' is not EPERM")]
    [InlineData("""{ "tasks": [ { "name": "u", "steps": [] } ] }""", "needs either \"process\" or \"kthread\": true")]
    [InlineData("""{ "tasks": [ __, __ ] }""", "task name 'x' is used twice")]
    [InlineData("""{ "faults": [ { "drop": "ipi" } ], "tasks": [ __ ] }""", "faults[0]")]
    [InlineData("""{ "faults": [ "ipi-drop:ipi=nope" ], "tasks": [ __ ] }""", "is not an IPI kind")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "spin_ns": -4 }] } ] }""", "steps[0] = -4 is out of range")]
    [InlineData("""{ "tasks": [ __ """, "is not valid JSON")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "store": "x" }] } ] }""", "a store needs a value")]
    [InlineData("""{ "tasks": [ { "name": "k", "kthread": true, "steps": [{ "load": "x", "into": "r1" }] } ] }""", "steps[0]: a kernel thread's store or load needs a use_mm step before it")]
    [InlineData("""{ "tasks": [ __, { "name": "k", "kthread": true, "steps": [{ "use_mm": "p" }, { "unuse_mm": true }, { "store": "x", "value": 1 }] } ] }""", "steps[2]: a kernel thread's store or load needs a use_mm")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "load": "x", "into": "r1" }] }, { "name": "v", "process": "p", "steps": [{ "membarrier": "PRIVATE_EXPEDITED", "sampled_into": "r1" }] } ] }""", "register 'r1' is already loaded by task 'u'")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "load": "x", "into": "r1" }] }, { "name": "v", "process": "p", "steps": [{ "load": "y", "into": "r1" }] } ] }""", "register 'r1' is already loaded by task 'u'")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "arch_prctl": "FLY" }] } ] }""", "'FLY' is not an arch_prctl option")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "clone": "v" }] }, { "name": "v", "process": "q", "steps": [] } ] }""", "clone target 'v' must be another task of process 'p'")]
    [InlineData("""{ "tasks": [ { "name": "k", "kthread": true, "steps": [{ "arch_prctl": "GET_MAX_TAG_BITS" }] } ] }""", "a kernel thread cannot take a 'arch_prctl' step")]
    [InlineData("""{ "forbid": { "r9": 0 }, "tasks": [ { "name": "u", "process": "p", "steps": [{ "load": "x", "into": "r1" }] } ] }""", "forbid names register 'r9'")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "spin_ns": 5, "repeat": 0 }] } ] }""", "steps[0].repeat = 0 is out of range")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "spin_ns": 5, "repeat": "many" }] } ] }""", "steps[0].repeat")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "exit": true, "repeat": 2 }] } ] }""", "steps[0]: 'exit' steps cannot repeat")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "membarrier": "QUERY", "expect": 0, "repeat": 2 }] } ] }""", "with expect or sampled_into names one call")]
    [InlineData("""{ "tasks": [ { "name": "u", "process": "p", "steps": [{ "spin_ns": 5 }, { "yield": true, "repeat": 100001 }] } ] }""", "steps[1].repeat = 100001 is out of range")]
    public void a_bad_scenario_is_refused_naming_the_place(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ScenarioParser.Parse(json.Replace("__", Ok), "scenario 'test.json'"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("scenario 'test.json'", e.Message);
    }

    [Fact]
    public void repeat_expands_a_step_in_place_and_later_steps_keep_counting()
    {
        ScenarioDefinition s = ScenarioParser.Parse("""
            { "tasks": [ { "name": "u", "process": "p", "steps": [
                { "spin_ns": 7 }, { "text_exec": "kprobe", "repeat": 3 }, { "membarrier": "QUERY", "expect": 0 } ] } ] }
            """, "scenario 'test.json'");
        Assert.Equal([StepKind.Spin, StepKind.TextExec, StepKind.TextExec, StepKind.TextExec, StepKind.Membarrier], s.Tasks[0].Steps.Select(x => x.Kind));
        Assert.Equal([0, 1, 2, 3, 4], s.Tasks[0].Steps.Select(x => x.Index));
        Assert.All(s.Tasks[0].Steps.Skip(1).Take(3), x => Assert.Equal(-1, x.Target));
    }

    [Fact]
    public void sampled_into_names_the_task_and_which_of_its_membarrier_calls_fills_the_register()
    {
        ScenarioDefinition s = ScenarioParser.Parse("""
            { "forbid": { "r0": 1 }, "tasks": [ __, { "name": "c", "process": "p", "steps": [
                { "membarrier": "REGISTER_PRIVATE_EXPEDITED" }, { "spin_ns": 5 }, { "membarrier": "PRIVATE_EXPEDITED", "sampled_into": "r0" } ] } ] }
            """.Replace("__", Ok), "scenario 'test.json'");
        Assert.Equal(["r0"], s.Registers);
        Assert.Equal([(2, 2, 0)], s.SampleRegisters);
    }

    [Fact]
    public void affinity_beyond_the_machine_is_refused_once_the_cpu_count_is_known()
    {
        string path = Path.Combine(Path.GetTempPath(), $"twin-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "cpus": 2, "tasks": [ { "name": "u", "process": "p", "cpu": 5, "steps": [] } ] }""");
        try
        {
            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [], path));
            Assert.Contains("pinned to cpu 5, but the machine has 2 CPUs", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void comments_and_names_of_commands_are_accepted_and_the_stored_form_has_no_comments()
    {
        ScenarioDefinition s = ScenarioParser.Parse("""
            // a comment
            { "tasks": [ { "name": "u", "process": "p", "steps": [
                { "membarrier": "MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ", "flags": "FLAG_CPU", "cpu": 1 },
                { "membarrier": 512 }, ] } ] }
            """, "inline");
        Assert.Equal(128, s.Tasks[0].Steps[0].Cmd);
        Assert.Equal(1, s.Tasks[0].Steps[0].Flags);
        Assert.Equal(512, s.Tasks[0].Steps[1].Cmd);
        Assert.DoesNotContain("comment", s.CanonicalJson);
    }
}
