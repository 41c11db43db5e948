#!/usr/bin/env bash
# The fine-tuning measurements of docs/conditioning.md: held-out NLL of the bundled nottingham-lstm as is, of the same
# architecture trained from scratch on a small set, and of the bundled model fine-tuned on that set for the same
# number of steps, beside the Kneser-Ney n-gram (with and without its piece cache) on the same tokens. Two sets:
#
# jigs ("Measured: 40 jigs"): Nottingham jigs, chosen so that the held-out ones were held out from the bundled model
#   too: a tune's split is a hash of its file name (src/data/split.h), the same in the full collection as in the
#   subset, except for tunes that `dataset prepare` groups as (near-)duplicates, which can move; those are left out.
#   So the subset's 37 test jigs are in the bundled model's test split, its 10 valid jigs in its valid split, and its
#   40 training jigs in its training data (with ~200 other jigs).
# chorales ("Measured: Bach chorale sopranos"): music the bundled model never saw, the soprano lines of the Bach
#   chorales (JSB, SATB-separated 16th version; Boulanger-Lewandowski split: 229 train, 76 valid, 77 test). They have
#   no key signature, so their key is found from their notes.
# Usage: scripts/measure_fine_tuning.sh [WORK=build/fine-tuning] [STEPS=300] [SET=jigs|chorales]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-build/fine-tuning}
steps=${2:-300}
set_name=${3:-jigs}
cadenza=$(realpath "${CADENZA:-${CADENZA_BUILD_DIR:-build}/cadenza}")
data=$(realpath "${NOTTINGHAM_DIR:-../shared/data/nottingham/MIDI}")
chorales=$(realpath "${JSB_SATB_FILE:-../shared/data/jsb-chorales/Jsb16thSeparated.json}")
models=$(realpath models)
mkdir -p "$work" && cd "$work"
# The bundled lstm's encoding: whole tunes (structure) moved to C major / A minor (one_key).
prepare() {
  "$cadenza" dataset prepare --input "$1" --no-recursive --encoding melody --track-index 0 --set structure=true \
    --set one_key=true --out "$2"
}

case $set_name in
  jigs)
    # The full collection as the bundled models saw it (scripts/train_bundled_models.sh), for its duplicate groups.
    prepare "$data" full.cdz > /dev/null
    grouped=$("$cadenza" dataset info --json full.cdz |
      python3 -c "import json,sys; print(' '.join(p for g in json.load(sys.stdin)['duplicates']['group_paths'] for p in g))")
    # The split of each ungrouped jig, from a shard of that one file.
    rm -rf one && mkdir one && : > jig_splits.txt
    for file in "$data"/jigs*.mid; do
      name=$(basename "$file")
      case " $grouped " in *" $name "*) continue ;; esac
      rm -f one/* && ln -s "$file" "one/$name"
      echo "$name $(prepare one one.cdz 2>&1 | head -1)" >> jig_splits.txt
    done
    # 40 training jigs, 10 validation jigs and every test jig, in file-number order.
    sort -V jig_splits.txt > sorted.txt
    { grep "train 1" sorted.txt | head -40; grep "valid 1" sorted.txt | head -10; grep "test 1" sorted.txt; } |
      awk '{print $1}' > jigs_files.txt
    rm -rf one one.cdz jigs_midi && mkdir jigs_midi
    while read -r name; do ln -s "$data/$name" "jigs_midi/$name"; done < jigs_files.txt
    prepare jigs_midi jigs.cdz   # prints: train 40, valid 10, test 37
    shard=jigs.cdz
    ;;
  chorales)
    # Track 0 of the separated chorales is the soprano.
    prepare "$chorales" sopranos.cdz   # prints: train 229, valid 76, test 77
    shard=sopranos.cdz
    ;;
  *)
    echo "measure_fine_tuning.sh: SET must be jigs or chorales, not '$set_name'" >&2
    exit 2
    ;;
esac

# No transposition: the tunes are in one key (the trainer refuses max_transpose on a one_key shard).
common="--data $shard --steps $steps --set eval_every=25 --seed 1 --threads 1 --overwrite"
"$cadenza" evaluate --checkpoint "$models/nottingham-lstm/model.safetensors" --data "$shard" --threads 1 --json \
  > bundled_test.json
# shellcheck disable=SC2086
# From scratch: the bundled lstm's architecture (sizes and the context it reads), the preset's training options.
"$cadenza" train --model lstm --preset small --set hidden_size=192 --set num_layers=2 --set context_lookback=4 \
  --set context_header=true --set context_phrase=true --set context_bars_left=true --set dropout=0.35 $common \
  --out scratch
"$cadenza" evaluate --checkpoint scratch --data "$shard" --threads 1 --json > scratch_test.json
# shellcheck disable=SC2086
"$cadenza" train --init-from nottingham-lstm $common --out finetune
"$cadenza" evaluate --checkpoint finetune --data "$shard" --threads 1 --json > finetune_test.json
for run in bundled scratch finetune; do
  python3 -c "import json; r = json.load(open('${run}_test.json')); m, n = r['model'], r['ngram_baseline']; \
print(f\"$run: test NLL {m['nll']:.4f} nats/token, accuracy {m['accuracy']:.4f} ({m['pieces']} pieces; \
Kneser-Ney {n['order']}-gram {n['nll']:.4f}, with its piece cache {n['cached']['nll']:.4f})\")"
done
