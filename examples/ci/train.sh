#!/usr/bin/env bash
# Train, retry once from the checkpoint if the job was interrupted, and act on learnai's exit codes:
# 0 success, 1 the run failed (diverged or errored), 2 bad usage or config, 130 interrupted.
set -u
config=${1:-configs/linear_regression.yaml}

learnai train "$config" --no-progress --json > train.json
status=$?
case $status in
  0)   echo "trained: $(python -c "import json; print(json.load(open('train.json'))['run_id'])")" ;;
  1)   echo "the run failed (diverged?): see learnai show latest" >&2; exit 1 ;;
  2)   echo "fix the config first: learnai config $config" >&2; exit 2 ;;
  130) echo "interrupted; resuming from last.pt" >&2
       learnai train --resume latest --no-progress --json > train.json || exit $? ;;
  *)   exit "$status" ;;
esac

learnai eval latest --json | python -c "import json, sys; print(json.load(sys.stdin)['metrics'])"
