#!/usr/bin/env python3
"""Shows that each hardening test fails without the fix it guards (issue 12: "each hole has a test that fails
before its fix"). It undoes fixes in a scratch copy of the tree and prints the test filter to run there; the
tests named must then fail (or hang: run them with --blame-hang-timeout). Never run it on a tree you keep.

    git worktree add --detach /tmp/mutant HEAD
    scripts/revert-check.py /tmp/mutant ps-finite loss-finite ...      # or: all
    cd /tmp/mutant && dotnet build -c Release tests/Distributed.Tests -p:TreatWarningsAsErrors=false
    dotnet test tests/Distributed.Tests -c Release --no-build --blame-hang-timeout 4m --filter "<printed filter>"

Mutations that silence a fix's error path (guardian-report, fetch-length) mask others' failures or hang together
with 'timeouts'; run them in a batch of their own. docs/cluster.md ("Each hole has a test that fails without its
fix") records the last run.
"""
import sys

# name: (file, the fix as it is in the code, what replaces it)
MUTATIONS = {
 'ps-finite': ('src/ParameterServer/RangeServerActor.cs', 'if (!FiniteValues.All(_gradient) || !FiniteValues.All(next.AsSpan(_parameters)))', 'if (false)'),
 'ps-diverge': ('src/ParameterServer/RangeServerActor.cs', 'var outcome = FiniteValues.All(next.AsSpan(0, _parameters)) ? PrepareOutcome.Ready : PrepareOutcome.Diverged;', 'var outcome = PrepareOutcome.Ready;'),
 'loss-finite': ('src/Coordinator/RoundBook.cs', 'if (!double.IsFinite(result.LossSum)) return Admission.NotFinite;', ''),
 'run-id': ('src/Coordinator/RoundBook.cs', 'if (result.RunId != runId || Find(', 'if (Find('),
 'assignee': ('src/Coordinator/RoundBook.cs', 'if (!shard.WasGivenTo(from)) return Admission.NotAssigned;', ''),
 'index': ('src/Coordinator/RoundBook.cs', 'current.Id == round && shard >= 0 && shard < current.Shards.Length ?', 'current.Id == round ?'),
 'guardian': ('src/Training/RunGuardian.cs', 'return _directive;', 'return Directive.Restart;'),
 'join': ('src/Coordinator/CoordinatorActor.cs', 'protected override void PreStart() => Timers.StartSingleTimer("join", JoinDeadline.Instance, _plan.JoinTimeout);', 'protected override void PreStart() { }'),
 'attempts': ('src/Coordinator/CoordinatorActor.Faults.cs', 'if (shard.Attempts >= _plan.MaxShardAttempts)', 'if (false)'),
 'timeouts': ('src/Cluster/Transport/TensorChannel.cs', 'timeout.CancelAfter(limit);', ''),
 'conn-cap': ('src/Cluster/Transport/TensorChannel.Serving.cs', '> _settings.MaxConnections)', '> _settings.MaxConnections + 1_000_000)'),
 'handle-check': ('src/Cluster/Transport/TensorHandleCheck.cs', '    {\n        if (expectedLength is not { } expected)', '    {\n        return null;\n        if (expectedLength is not { } expected)'),
 'insecure': ('src/Cluster/InsecureBinding.cs', 'if (!IsInsecure(settings) || settings.AllowInsecure) return;', 'return;'),
 'untrusted': ('src/Cluster/Hosting/ClusterHostingExtensions.cs', 'private static string UntrustedMode =>', 'private static string UntrustedMode => "";\n    private static string UntrustedModeOff =>'),
 'ckpt-nan': ('src/Training/Checkpoints/CheckpointWriter.cs', 'if (!IsFinite(parameters.State) || !IsFinite(parameters.Momentum))', 'if (false)'),
 'keep-k': ('src/Training/Checkpoints/CheckpointRetention.cs', '.Skip(Math.Max(1, keep))', '.Skip(int.MaxValue)'),
 'resume-steps': ('src/Training/Checkpoints/Checkpoint.cs', 'if (StepsPerEpoch > 0 && StepsPerEpoch != steps) differences.Add(', 'if (false) differences.Add('),
 'guardian-report': ('src/Training/RunGuardian.cs', '_observer.Tell(new TrainingFailed($"the {_role} failed: {error.GetType().Name}: {error.Message}", -1));', ''),
 'fetch-length': ('src/Cluster/Transport/TensorChannel.cs', 'if (handle.Length != expectedLength || expectedLength < 0)', 'if (false)'),
}

# name: the tests (name fragments) that must fail once the fix is undone
TESTS = {'ps-finite': ['A_non_finite_gradient_is_refused_and_its_shard_computed_again_by_another_worker'],
 'loss-finite': ['A_non_finite_loss_is_refused'],
 'run-id': ['A_result_from_another_run_or_from_a_worker_the_shard_was_never_given_to_is_refused'],
 'assignee': ['A_result_from_another_run_or_from_a_worker_the_shard_was_never_given_to_is_refused'],
 'index': ['Answers_to_another_round_or_to_a_shard_that_does_not_exist_find_nothing'],
 'guardian': ['RunGuardianTests'],
 'guardian-report': ['RunGuardianTests'],
 'join': ['A_run_whose_workers_never_all_become_live'],
 'attempts': ['A_shard_that_bounces_between_stuck_workers'],
 'timeouts': ['A_peer_that_connects_and_never_speaks', 'A_transfer_that_stalls_fails_within_the_read_timeout', 'A_stalled_weights_fetch_on_a_worker_node'],
 'conn-cap': ['Connections_beyond_the_cap'],
 'handle-check': ['A_handle_must_name_its_sender'],
 'fetch-length': ['A_handle_announcing_a_giant_length'],
 'insecure': ['A_non_loopback_address_without_TLS_is_refused', 'Both_executables_refuse_a_clear_text'],
 'untrusted': ['A_cluster_node_drops_frames_for_Akkas_open_serializers'],
 'ckpt-nan': ['A_state_with_a_NaN_is_not_written'],
 'keep-k': ['Each_write_lands_under_its_step'],
 'resume-steps': ['Resume_names_a_different_state_length'],
 'ps-diverge': ['A_finite_gradient_that_would_overflow_the_weights_is_refused']}


def main(root, names):
    if names == ['all']:
        names = [n for n in MUTATIONS if n not in ('guardian-report', 'fetch-length')]
    unknown = [n for n in names if n not in MUTATIONS]
    if unknown:
        sys.exit(f"error: unknown mutation(s) {', '.join(unknown)}; known: {', '.join(MUTATIONS)}")
    for name in names:
        path, fix, replacement = MUTATIONS[name]
        text = open(f"{root}/{path}").read()
        if text.count(fix) != 1:
            sys.exit(f"error: {name}: the fix is not (exactly once) in {path}; has the code moved? Update this script.")
        open(f"{root}/{path}", 'w').write(text.replace(fix, replacement))
        print(f"undone: {name} ({path})")
    fragments = sorted({t for n in names for t in TESTS[n]})
    print("filter: " + "|".join(f"FullyQualifiedName~{t}" for t in fragments))


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
