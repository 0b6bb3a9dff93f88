#!/bin/sh
# run.sh BUILD SECONDS [TARGET...] — run each fuzz target (default: all) for
# SECONDS with its seeds and dictionary, one after the other, and print per
# target the executions, libFuzzer's final coverage (cov: edges, ft:
# features) and whether it found a crash, leak, hang or OOM.
#
# Work files: BUILD/fuzz-work/TARGET/{corpus,artifacts,log} (the corpus grows
# from run to run); seeds: BUILD/fuzz-seeds (fuzz/make_seeds.py, plus a
# calibration profile made with BUILD/qkc). Exit status 1 when a target
# found a problem; its reproducer is printed, to be replayed with
#   BUILD/fuzz/TARGET REPRODUCER
set -u
BUILD=${1:?usage: run.sh BUILD SECONDS [TARGET...]}
SECS=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
SRC=$(cd "$(dirname "$0")/.." && pwd)
TARGETS=${*:-"fuzz_onnx fuzz_text fuzz_npy fuzz_profile fuzz_passes"}
SEEDS=$BUILD/fuzz-seeds
WORK=$BUILD/fuzz-work

# ---- seeds ----
rm -rf "$SEEDS"
/usr/bin/python3 "$SRC/fuzz/make_seeds.py" "$SRC" "$SEEDS" || exit 2
for m in mlp cnn; do
  # the helper run only makes a seed: its leaks are not this run's subject
  ASAN_OPTIONS=detect_leaks=0 "$BUILD/qkc" calibrate "$SRC/models/$m.onnx" \
    --calib "$SRC/models/digits_calib_x.npy" -o "$SEEDS/profile/$m.qprofile" >/dev/null 2>&1 ||
    echo "run.sh: qkc calibrate $m failed: no $m profile seed"
done
/usr/bin/python3 "$SRC/fuzz/make_seeds.py" --small-profiles "$SEEDS/profile"

seeds_of() { case $1 in fuzz_onnx) echo onnx ;; fuzz_text) echo text ;; fuzz_npy) echo npy ;;
                        fuzz_profile) echo profile ;; fuzz_passes) echo passes ;; esac; }
# profiles are large and read through a file: smaller inputs fuzz faster
flags_of() { case $1 in fuzz_profile) echo -max_len=16384 ;; esac; }
dict_of() { case $1 in fuzz_onnx) echo onnx ;; fuzz_text) echo text ;; fuzz_npy) echo npy ;;
                       fuzz_profile) echo profile ;; fuzz_passes) echo text ;; esac; }

status=0
summary=""
for t in $TARGETS; do
  bin=$BUILD/fuzz/$t
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is missing (build with -DQKC_FUZZ=ON)"; status=1; continue
  fi
  w=$WORK/$t
  mkdir -p "$w/corpus" "$w/artifacts"
  rm -f "$w/artifacts"/crash-* "$w/artifacts"/leak-* "$w/artifacts"/timeout-* "$w/artifacts"/oom-*
  echo "== $t: $SECS s"
  # -timeout: an input that runs 10 s is a hang; -rss_limit_mb: OOM beyond 2.5 GB
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
      -dict="$SRC/fuzz/dict/$(dict_of "$t").dict" -artifact_prefix="$w/artifacts/" $(flags_of "$t") \
      "$w/corpus" "$SEEDS/$(seeds_of "$t")" >"$w/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$w/log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$w/log" | tail -n 1 | cut -d' ' -f2)
  corp=$(ls "$w/corpus" | wc -l)
  repro=$(ls "$w/artifacts"/crash-* "$w/artifacts"/leak-* "$w/artifacts"/timeout-* "$w/artifacts"/oom-* 2>/dev/null | head -n 1)
  if [ "$rc" -ne 0 ] || [ -n "$repro" ]; then
    result="FOUND A PROBLEM (exit $rc): ${repro:-no reproducer written, see $w/log}"
    grep -m 3 -E 'ERROR: |runtime error:|SUMMARY:' "$w/log" | sed 's/^/    /'
    echo "    log: $w/log"
    [ -n "$repro" ] && echo "    reproduce: $bin $repro"
    status=1
  else
    result="no crash"
  fi
  line=$(printf '%-13s %5ss  execs %-10s cov %-6s ft %-7s corpus %-6s %s' "$t" "$SECS" "${execs:-?}" \
         "${cov:-?}" "${ft:-?}" "$corp" "$result")
  echo "$line"
  summary="$summary$line
"
done
echo "== fuzzing summary"
printf '%s' "$summary"
exit $status
