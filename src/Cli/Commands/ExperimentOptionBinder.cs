using System.CommandLine;

namespace Distributed.Cli.Commands;

/// <summary>
/// Binds an experiment's command-line options onto its options record. Each option is declared once, next to how it
/// overrides the record (<c>(o, v) =&gt; o with { Width = v }</c>); an option applies only when it is on the command
/// line, so everything else falls back to the experiment's <c>Default</c>, or its <c>Quick</c> with --quick.
/// </summary>
public sealed class ExperimentOptionBinder<TOptions> where TOptions : class
{
    private readonly TOptions _default;
    private readonly TOptions _quick;
    private readonly List<(Option Option, Func<ParseResult, TOptions, TOptions> Apply)> _bindings = [];

    public ExperimentOptionBinder(string experiment, TOptions @default, TOptions quick, string quickDescription)
    {
        _default = @default;
        _quick = quick;
        Quick = new Option<bool>("--quick") { Description = quickDescription };
        Output = new Option<string?>("--output", "-o")
        {
            Description = $"Directory for the CSV, markdown and PNG files (default runs/experiments/{experiment}-<timestamp>).",
            HelpName = "directory",
        };
    }

    public Option<bool> Quick { get; }
    public Option<string?> Output { get; }

    /// <summary>Every bound option, then --quick and --output, in the order help lists them.</summary>
    public IEnumerable<Option> Options => _bindings.Select(b => b.Option).Append(Quick).Append(Output);

    /// <summary>Binds <paramref name="option"/>: when given, <paramref name="apply"/> folds its value into the record.</summary>
    public ExperimentOptionBinder<TOptions> Add<T>(Option<T> option, Func<TOptions, T, TOptions> apply)
    {
        _bindings.Add((option, (parse, options) => parse.GetResult(option) is { Implicit: false } ? apply(options, parse.GetValue(option)!) : options));
        return this;
    }

    /// <summary>A scalar option: <c>--name &lt;helpName&gt;</c>.</summary>
    public ExperimentOptionBinder<TOptions> Add<T>(string name, string helpName, string description, Func<TOptions, T, TOptions> apply) =>
        Add(new Option<T>(name) { Description = description, HelpName = helpName }, apply);

    /// <summary>The baseline (--quick or not) with every given option applied. Throws <see cref="ArgumentException"/> on a bad value.</summary>
    public TOptions Bind(ParseResult parse) =>
        _bindings.Aggregate(parse.GetValue(Quick) ? _quick : _default, (options, binding) => binding.Apply(parse, options));
}
