#!/bin/sh
# CPU hotplug during membarrier calls and TLB shootdowns (issue 25): runs ./churn while CPU 1 goes
# offline and online again ROUNDS times. As root. CPU 1 is brought back online on every way out.
# Usage: workload-hotplug.sh CHURN_BINARY [ROUNDS] [ITERATIONS]
set -u
churn=$1; rounds=${2:-3}; iterations=${3:-1200}
online=/sys/devices/system/cpu/cpu1/online
trap 'echo 1 > $online' EXIT INT TERM
"$churn" "$iterations" 15 & pid=$!
i=0
while [ $i -lt "$rounds" ]; do
  sleep 0.05; echo 0 > $online; sleep 0.05; echo 1 > $online
  i=$((i + 1))
done
wait $pid
