#!/usr/bin/env bash
# benches/peak_anon.sh CMD [ARGS...] — runs CMD (stdout discarded) and prints its peak
# anonymous memory (RssAnon from /proc/PID/status, sampled every 5 ms) and its wall time.
# RssAnon is the process's private memory: it leaves out the page cache of memory-mapped
# input, which peak RSS (/usr/bin/time %M) counts.
#
#   benches/peak_anon.sh target/release/why409 --output json /tmp/1g.log
set -euo pipefail
[[ $# -ge 1 ]] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
start=$(date +%s.%N)
"$@" > /dev/null &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    if [[ -n $v && $v -gt $peak ]]; then peak=$v; fi
    sleep 0.005
done
wait "$pid"
end=$(date +%s.%N)
printf 'peak RssAnon %d MiB, wall %.2f s\n' $((peak / 1024)) "$(echo "$end - $start" | bc -l 2>/dev/null || python3 -c "print($end - $start)")"
