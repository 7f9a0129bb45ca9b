using System.Globalization;

namespace Distributed.Experiments;

/// <summary>
/// One claim an experiment prints, decided by a stated rule and nothing else: what was measured, what theory (or
/// the claim) predicts, the rule with its tolerance, and the outcome. Where the measurement disagrees,
/// <paramref name="Suggestion"/> says what it points to instead.
/// </summary>
/// <param name="Claim">The statement being checked, in the paper's terms.</param>
/// <param name="Measured">The fitted or measured quantity, with its uncertainty where there is one.</param>
/// <param name="Expected">The value theory (or the claim) predicts.</param>
/// <param name="Rule">The tolerance that decides, e.g. "exponent within 20 %".</param>
/// <param name="Outcome">What the rule says; never set by hand.</param>
/// <param name="Evidence">Further numbers a reader needs to check the claim.</param>
/// <param name="Suggestion">What the measurement suggests instead (only for a disagreement).</param>
public sealed record Verdict(string Claim, string Measured, string Expected, string Rule, Agreement Outcome, string Evidence = "", string? Suggestion = null)
{
    public bool Agrees => Outcome == Agreement.Agrees;

    /// <summary>"agrees", "DISAGREES" or "inconclusive": the loud one is the one a reader must not miss.</summary>
    public string Label => Outcome switch
    {
        Agreement.Agrees => "agrees",
        Agreement.Disagrees => "DISAGREES",
        _ => "inconclusive",
    };

    /// <summary>One console line: <c>[agrees] claim: measured vs expected (rule); evidence; suggests …</c>.</summary>
    public override string ToString() =>
        $"[{Label}] {Claim}: measured {Measured}, expected {Expected} ({Rule})" +
        (Evidence.Length > 0 ? $"; {Evidence}" : "") +
        (Outcome == Agreement.Disagrees && Suggestion is not null ? $". Measurement suggests: {Suggestion}" : "");

    /// <summary>Culture-free formatting for the numbers inside a verdict.</summary>
    public static string Format(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
