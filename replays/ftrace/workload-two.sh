#!/bin/sh
# Two processes (issue 25): ./spinner registers GLOBAL_EXPEDITED and spins a thread on every CPU
# while ./churn, not registered for it, calls GLOBAL_EXPEDITED (and the private commands) with thread
# churn, migrations and shootdowns: every GLOBAL_EXPEDITED must reach the spinner's CPUs.
# Usage: workload-two.sh SPINNER_BINARY CHURN_BINARY [ITERATIONS]
set -u
"$1" 0.6 & spinner=$!
sleep 0.05
"$2" "${3:-150}" 15
wait $spinner
