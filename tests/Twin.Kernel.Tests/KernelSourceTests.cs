using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Twin.Kernel.Tests;

/// <summary>
/// The kernel model stays readable beside the kernel (issue 27): kernel paths are methods, not a
/// phase machine; no method of src/Twin.Kernel is over 70 lines, no file of the CPU actor over
/// 400; each kernel path file cites its kernel source. Read from this checkout's source with
/// Roslyn's parser.
/// </summary>
public sealed class KernelSourceTests
{
    private const int MethodLinesMax = 70;
    private const int CpuFileLinesMax = 400;

    private static readonly string Src = Path.Combine(FindRoot(), "src", "Twin.Kernel");

    private static IEnumerable<string> Sources(string dir) =>
        Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static SyntaxNode Parse(string file) => CSharpSyntaxTree.ParseText(File.ReadAllText(file), path: file).GetRoot();

    private static int Lines(SyntaxNode node)
    {
        FileLinePositionSpan span = node.GetLocation().GetLineSpan();
        return span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
    }

    [Fact]
    public void no_method_of_the_kernel_model_is_over_70_lines()
    {
        string[] tooLong = [.. Sources(Src).SelectMany(f => Parse(f).DescendantNodes()
                .Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax)
                .Where(n => Lines(n) > MethodLinesMax)
                .Select(n => $"{Path.GetRelativePath(Src, f)}:{n.GetLocation().GetLineSpan().StartLinePosition.Line + 1} ({Lines(n)} lines)"))];
        Assert.True(tooLong.Length == 0, string.Join('\n', tooLong));
    }

    [Fact]
    public void no_file_of_the_cpu_actor_is_over_400_lines_and_it_has_no_phase_enum()
    {
        string cpu = Path.Combine(Src, "Cpu");
        string[] files = [.. Sources(cpu)];
        Assert.True(files.Length > 10, "the CPU actor's files are found");
        Assert.All(files, f => Assert.True(File.ReadAllLines(f).Length <= CpuFileLinesMax, $"{Path.GetFileName(f)} is over {CpuFileLinesMax} lines"));
        string[] enums = [.. Sources(Src).SelectMany(f => Parse(f).DescendantNodes().OfType<EnumDeclarationSyntax>()).Select(e => e.Identifier.Text)];
        Assert.Contains("FrameWait", enums);
        Assert.DoesNotContain("CpuPhase", enums);
    }

    [Fact]
    public void every_kernel_path_file_cites_the_kernel_source_it_models()
    {
        string[] files = [.. Sources(Path.Combine(Src, "Cpu", "Paths")).Where(f => Path.GetFileName(f) != "KernelPath.cs")];
        Assert.True(files.Length > 10, "the kernel paths are found");
        string[] uncited = [.. files.Where(f => !System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(f), @"\b(kernel|arch|fs|mm|include)/[\w/.-]+\.[ch]\b"))
            .Select(f => Path.GetFileName(f) ?? f)];
        Assert.True(uncited.Length == 0, "no kernel source cited in " + string.Join(", ", uncited));
    }

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Twin.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Twin.sln not found above " + AppContext.BaseDirectory);
    }
}
