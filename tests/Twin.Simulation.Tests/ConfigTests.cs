using Twin.Persistence.Tests;
using Twin.Simulation.Config;

namespace Twin.Simulation.Tests;

public sealed class ConfigTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string json)
    {
        string path = _dir.File($"c{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static IEnumerable<(string, string, string)> None => [];

    [Fact]
    public void config_default_json_equals_the_built_in_defaults()
    {
        TwinConfig fromFile = ConfigLoader.Load(RepoPaths.Of("config/default.json"), None);
        Assert.Equal(ConfigLoader.ToJson(ConfigLoader.Load(null, None)), ConfigLoader.ToJson(fromFile));
    }

    [Fact]
    public void the_stored_json_of_a_config_reads_back_equal()
    {
        TwinConfig c = ConfigLoader.Load(null, [("seed", "18446744073709551615", "t"), ("workload.registerProbability", "0.125", "t"),
            ("cpus", "256", "t"), ("arch", "riscv", "t"), ("bugs.0", "B4", "t"), ("bugs.1", "b12", "t"), ("nohzFull", "true", "t")]);
        string json = ConfigLoader.ToJson(c);
        Assert.Equal(json, ConfigLoader.ToJson(ConfigLoader.FromRunJson(json, "stored")));
        TwinConfig back = ConfigLoader.FromRunJson(json, "stored");
        Assert.Equal(ulong.MaxValue, back.Seed);
        Assert.Equal(Twin.Kernel.BugSet.B4 | Twin.Kernel.BugSet.B12, back.Kernel.Bugs);
        Assert.Equal("riscv", back.Kernel.Arch.Name);
        Assert.True(back.Kernel.NohzFull);
    }

    [Fact]
    public void overrides_apply_after_the_file()
    {
        string path = Write("""{ "cpus": 8, "workload": { "processes": 5 } }""");
        TwinConfig c = ConfigLoader.Load(path, [("cpus", "2", "--cpus")]);
        Assert.Equal(2, c.Kernel.Cpus);
        Assert.Equal(5, c.Kernel.Workload.Processes);
    }

    [Theory]
    [InlineData("""{ "cpus": 0 }""", "cpus = 0 is out of range (1..256)")]
    [InlineData("""{ "cpus": "many" }""", "cpus = 'many' is not an integer")]
    [InlineData("""{ "workload": { "procesess": 2 } }""", "unknown key 'workload.procesess'")]
    [InlineData("""{ "workload": 3 }""", "'workload' must be an object")]
    [InlineData("""{ "workload": { "registerProbability": 1.5 } }""", "workload.registerProbability = 1.5 is out of range (0..1)")]
    [InlineData("""{ "workload": { "spinNsMin": 10, "spinNsMax": 5 } }""", "workload.spinNsMax = 5 is below workload.spinNsMin = 10")]
    [InlineData("""{ "arch": "vax" }""", "arch = 'vax' is not an architecture profile")]
    [InlineData("""{ "bugs": ["B99"] }""", "'B99' is not a bug switch")]
    [InlineData("""{ "nohzFull": "yes" }""", "nohzFull = 'yes' is not true or false")]
    [InlineData("""{ "kernel": { "reschedOnIrqExit": 2 } }""", "kernel.reschedOnIrqExit = 2 is out of range (0..1)")]
    [InlineData("""{ "workload": { "weights": { "spin": -1 } } }""", "workload.weights.spin = -1 is out of range")]
    [InlineData("""{ "workload": { "processes": 0, "kthreads": 0 } }""", "the workload has no task")]
    [InlineData("""{ "seed": -1 }""", "seed = '-1' is not an unsigned 64-bit integer")]
    [InlineData("""{ "run": { "events": null } }""", "'run.events' has no value")]
    [InlineData("""{ "cpus": 4, """, "is not valid JSON")]
    public void a_bad_config_file_is_refused_naming_the_file_and_key(string json, string expected)
    {
        string path = Write(json);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, None));
        Assert.Contains(expected, e.Message);
        Assert.Contains(Path.GetFileName(path), e.Message);
    }

    [Fact]
    public void a_missing_config_file_is_named()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(_dir.File("absent.json"), None));
        Assert.Contains("absent.json' does not exist", e.Message);
    }

    [Fact]
    public void a_bad_override_names_its_flag()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(null, [("cpus", "999", "--cpus")]));
        Assert.StartsWith("--cpus: cpus = 999", e.Message);
        Assert.Throws<ConfigException>(() => ConfigLoader.ParseAssignment("novalue"));
    }
}
