#!/usr/bin/env bash
# Run each libFuzzer target over a copy of its seed corpus, JOBS targets at a time, the
# request-path target (http) first because it runs longest. A crash, leak, timeout or
# failed assertion fails the run and leaves the input in BUILD/findings/TARGET-*.
# usage: fuzz-smoke.sh BUILD JOBS TARGET...   (FUZZ_SECONDS, FUZZ_HTTP_SECONDS)
set -uo pipefail
[ $# -ge 3 ] || { echo "usage: fuzz-smoke.sh BUILD JOBS TARGET..." >&2; exit 2; }
build=$1 jobs=$2
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$build/findings"

run_one() {
  local t=$1 secs=${FUZZ_SECONDS:-15}
  [ "$t" = http ] && secs=${FUZZ_HTTP_SECONDS:-$secs}
  rm -rf "$build/work-$t" && cp -r "tests/fuzz/corpus/$t" "$build/work-$t" || return 3
  echo "fuzz_$t: $secs s"
  ASAN_OPTIONS=detect_leaks=1 "$build/bin/fuzz_$t" "$build/work-$t" \
    -max_total_time="$secs" -timeout=10 -max_len=8192 -rss_limit_mb=2048 -print_final_stats=0 \
    -artifact_prefix="$build/findings/$t-" 2>"$build/fuzz_$t.log"
}

targets=()
for t in "$@"; do [ "$t" = http ] && targets=(http "${targets[@]}") || targets+=("$t"); done
declare -A pid_of=()
failed=()
reap() {  # wait for one target to end; remember it if it failed
  local done_pid t
  wait -n -p done_pid; local rc=$?
  for t in "${!pid_of[@]}"; do
    [ "${pid_of[$t]}" = "$done_pid" ] || continue
    unset "pid_of[$t]"
    [ $rc -eq 0 ] || failed+=("$t")
  done
}
for t in "${targets[@]}"; do
  while [ ${#pid_of[@]} -ge "$jobs" ]; do reap; done
  run_one "$t" & pid_of[$t]=$!
done
while [ ${#pid_of[@]} -gt 0 ]; do reap; done

for t in "${failed[@]}"; do echo "--- fuzz_$t"; tail -40 "$build/fuzz_$t.log"; done
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
