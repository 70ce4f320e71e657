#!/usr/bin/env bash
# Name the commit that introduced or removed a finding: `git bisect run` in a temporary clone
# (your work tree and branch are never touched), building mta-lab at every step and replaying the
# finding with `mta-lab replay`.
#
# Usage: scripts/bisect.sh FINDING [GOOD BAD]
#   FINDING  a simulation finding (*.toml, replayed with `mta-lab replay FINDING`), or a fuzz input
#            under corpora/regressions/<target>/ (replayed with `mta-lab replay <target> FILE` on
#            $MTA_LAB_BUILD, default 5.5)
#   GOOD     the older end [default: the commit the finding records (lab_commit)]
#   BAD      the newer end [default: HEAD]
# Both ends are replayed first. Reproducing at BAD only: bisect names the commit that introduced
# it; at GOOD only: the commit that removed it; the same at both ends: nothing to bisect.
# Each step: the build fails, or replay exits 2 (usage or input error) or 3 (internal error), or
# its output says neither "reproduced" nor "not reproduced" -> 125 (skip); otherwise 0 when the
# step looks like GOOD and 1 when it looks like BAD. The finding is replayed from a copy without
# its provenance fields (lab_commit, rustc_version), which binaries older than them refuse.
#
# Environment: MTA_LAB_BISECT_BUILD  build command run in the clone
#                                    [default: cargo build --release -q -p mta-lab]
#              MTA_LAB_BISECT_BIN    the binary it makes, relative to the clone
#                                    [default: $CARGO_TARGET_DIR/release/mta-lab]
#              CARGO_TARGET_DIR      [default: <repo>/target/bisect, kept between runs so that
#                                    dependencies are compiled once; your own binaries stay]
# Exit status: 0 a commit was named; 1 nothing to bisect; 2 usage or input error.
set -euo pipefail

# One step, run by `git bisect run` inside the clone: state of this commit -> bisect's status.
if [[ "${1:-}" == "--step" ]]; then
    state=$("$0" --state)
    case "$state" in
        "$BISECT_GOOD_STATE") exit 0 ;;
        "$BISECT_BAD_STATE") exit 1 ;;
        *) exit 125 ;;
    esac
fi

# The state of the checked-out commit: "present", "absent" or "skip" (printed on stdout).
if [[ "${1:-}" == "--state" ]]; then
    if ! (eval "$MTA_LAB_BISECT_BUILD") >&2; then
        echo "bisect: $(git rev-parse --short HEAD): build failed, skipped" >&2
        echo skip
        exit 0
    fi
    set +e
    if [[ -n "${BISECT_TARGET:-}" ]]; then
        out=$("$MTA_LAB_BISECT_BIN" replay "$BISECT_TARGET" "$BISECT_FINDING" 2>&1)
    else
        out=$("$MTA_LAB_BISECT_BIN" replay "$BISECT_FINDING" 2>&1)
    fi
    status=$?
    set -e
    state=skip
    if [[ $status -le 1 ]]; then
        if [[ -n "${BISECT_TARGET:-}" ]]; then
            grep -q ": FAILED: " <<<"$out" && state=present
            grep -q ": ok (" <<<"$out" && state=absent
        else
            grep -q "signature reproduced" <<<"$out" && state=present
            grep -q "signature NOT reproduced" <<<"$out" && state=absent
        fi
    fi
    echo "bisect: $(git rev-parse --short HEAD): replay exit $status -> $state" >&2
    echo "$state"
    exit 0
fi

usage() {
    sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[[ $# -eq 1 || $# -eq 3 ]] || usage
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
finding=$(realpath "$1") || { echo "error: $1: no such file" >&2; exit 2; }
[[ -f "$finding" ]] || { echo "error: $1: not a file" >&2; exit 2; }

target=""
if [[ "$finding" != *.toml ]]; then
    rel=${finding#"$repo"/}
    if [[ "$rel" =~ ^corpora/regressions/([^/]+)/[^/]+$ ]]; then
        target=${BASH_REMATCH[1]}
    else
        echo "error: $1: neither a finding (.toml) nor a fuzz input under corpora/regressions/<target>/" >&2
        exit 2
    fi
fi

if [[ $# -eq 3 ]]; then
    good=$2 bad=$3
else
    good=$(sed -n 's/^lab_commit = "\(.*\)"$/\1/p' "$finding" 2>/dev/null | head -1)
    if [[ -z "$good" || "$good" == unknown ]]; then
        echo "error: $1 records no lab commit (older than the field, or not a finding): give GOOD and BAD" >&2
        exit 2
    fi
    bad=HEAD
fi
good_sha=$(git -C "$repo" rev-parse --verify -q "$good^{commit}") || { echo "error: GOOD $good: no such commit here" >&2; exit 2; }
bad_sha=$(git -C "$repo" rev-parse --verify -q "$bad^{commit}") || { echo "error: BAD $bad: no such commit here" >&2; exit 2; }
git -C "$repo" merge-base --is-ancestor "$good_sha" "$bad_sha" ||
    { echo "error: GOOD $good is not an ancestor of BAD $bad" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mta-lab-bisect.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The finding, the step script and the clone live outside the repository's history.
copy="$work/$(basename "$finding")"
if [[ -z "$target" ]]; then
    grep -v -e '^lab_commit = ' -e '^rustc_version = ' "$finding" >"$copy"
else
    cp "$finding" "$copy"
fi
cp "$0" "$work/step.sh"
chmod +x "$work/step.sh"
git clone -q --no-checkout "$repo" "$work/clone"

export BISECT_FINDING=$copy BISECT_TARGET=$target
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/bisect}
export MTA_LAB_BISECT_BUILD=${MTA_LAB_BISECT_BUILD:-cargo build --release -q -p mta-lab}
export MTA_LAB_BISECT_BIN=${MTA_LAB_BISECT_BIN:-$CARGO_TARGET_DIR/release/mta-lab}
cd "$work/clone"

state_at() {
    git checkout -q --detach "$1"
    "$work/step.sh" --state
}
echo "bisect: replaying $1 at GOOD $good ($(git rev-parse --short "$good_sha")) and BAD $bad ($(git rev-parse --short "$bad_sha"))" >&2
good_state=$(state_at "$good_sha")
bad_state=$(state_at "$bad_sha")
if [[ "$good_state" == skip || "$bad_state" == skip ]]; then
    echo "error: cannot replay at an end (GOOD: $good_state, BAD: $bad_state): pick other ends" >&2
    exit 2
fi
if [[ "$good_state" == "$bad_state" ]]; then
    echo "nothing to bisect: the finding is $good_state at both GOOD and BAD"
    exit 1
fi
export BISECT_GOOD_STATE=$good_state BISECT_BAD_STATE=$bad_state
if [[ "$bad_state" == present ]]; then what=introduced; else what=removed; fi
echo "bisect: $good_state at GOOD, $bad_state at BAD: looking for the commit that $what it" >&2
git bisect start --term-old="$good_state" --term-new="$bad_state" "$bad_sha" "$good_sha" >&2
git bisect run "$work/step.sh" --step >"$work/run.log" 2>&1 || true
first=$(sed -n "s/^\([0-9a-f]\{40\}\) is the first $bad_state commit$/\1/p" "$work/run.log" | head -1)
git bisect log | grep -v '^#' >&2 || true
if [[ -z "$first" ]]; then
    tail -20 "$work/run.log" >&2
    echo "bisect could not name a single commit (skipped steps?); see the log above" >&2
    exit 1
fi
echo "$(git log -1 --format='%H %s' "$first")"
echo "first commit where the finding is $bad_state: $first (it $what it)"
exit 0
