#!/usr/bin/env bash
# Reproduces the bundled models under models/: Nottingham melodies (melody encoding, track 0 of each tune) for
# rnn, lstm, gru, transformer and the 2-bar vae, and Nottingham melody + chords (2-track piano roll) for the gan,
# each sized to stay under 4 MB as float32 and trained for a fixed time budget (vae 45 min, gan 30 min: their
# budgets below; BUDGET applies to the autoregressive families).
# Usage: scripts/train_bundled_models.sh [BUDGET=35m] [WORK=build/bundled] [THREADS=1]
# Needs the data: `cadenza dataset fetch nottingham` (or ../shared/data/nottingham), and a built `cadenza`.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-35m}
work=${2:-build/bundled}
threads=${3:-1}
cadenza=${CADENZA:-${CADENZA_BUILD_DIR:-build}/cadenza}
data=${NOTTINGHAM_DIR:-../shared/data/nottingham/MIDI}
mkdir -p "$work"
# Whole tunes for the autoregressive families (structure=true: START, the meter, the key, the bar position of every
# step and END), so that a piece begins in a key and meter of its own choosing and can end; plain melodies for the vae.
# They are moved to one key (one_key=true: major tunes to C, minor ones to A minor) for the rnn, lstm, gru and
# transformer: a model that learns one scale and one tonic ends its tunes on the tonic about twice as often
# (docs/baselines.md, "Where the tonic falls"); generation moves a tune to the key asked for (--key) and a primer's
# continuation back to its key.
"$cadenza" dataset prepare --input "$data" --no-recursive --encoding melody --track-index 0 --set structure=true \
  --set one_key=true --out "$work/nottingham_one_key.cdz"
"$cadenza" dataset prepare --input "$data" --no-recursive --encoding melody --track-index 0 \
  --out "$work/nottingham_melody.cdz"
"$cadenza" dataset prepare --input "$data" --no-recursive --encoding pianoroll --set num_tracks=2 \
  --set lowest_pitch=36 --set highest_pitch=107 --set transpose_into_range=true --out "$work/nottingham_roll.cdz"

# family -> the sizes that keep a float32 checkpoint under 4 MB (the `small` preset otherwise)
# The recurrent families read the tokens 1, 2, 4 and 8 bars back (context_lookback=4: the phrase a tune restates is
# one input away), and a fifth of their crops start at the tune's START and a fifth end at its END (a uniform crop of
# a 540-token tune rarely holds either: key choice and endings would go unlearned). They read the tune's meter and
# key at every step (context_header=true), so a crop that starts mid-tune, and the end of a tune, still know the key,
# and the bar number (context_phrase=true: the bar within its 8-bar phrase and the phrase's number), so that a tune
# knows where it is in its form: where phrases restate and where tunes end.
recurrent_form="--set context_lookback=4 --set context_header=true --set context_phrase=true --set start_crop_share=0.2 --set end_crop_share=0.2"
# The rnn, lstm and gru also read the bars left in the tune (context_bars_left=true: the length asked for with --bars,
# "unknown" in half the training rows and without --bars), and two fifths of their crops end at the tune's END. With
# it `generate --until-end` can bring a tune still going near the cap to an end (the late plan): the gru ended 381 of
# 400 whole tunes itself instead of 287 (docs/baselines.md, "The gru reads the bars left").
planned_form="${recurrent_form/end_crop_share=0.2/end_crop_share=0.4} --set context_bars_left=true"
# The one-key rnn, lstm and gru see each tune in one key only (no transposition augmentation): dropout 0.35 (with 0.1
# the one-key rnn overfit: test NLL 0.482 against 0.453 with 0.35).
declare -A sizes=(
  [rnn]="--set hidden_size=256 --set num_layers=2 $planned_form --set dropout=0.35"
  [lstm]="--set hidden_size=192 --set num_layers=2 $planned_form --set dropout=0.35"
  [gru]="--set hidden_size=256 --set num_layers=2 $planned_form --set dropout=0.35"
  # Crops of 256 tokens (16 bars of 16ths) can hold an 8-bar phrase and its repeat for attention to copy from; a
  # quarter of them start at the tune's START and a fifth end at its END. It reads what the recurrent families read
  # (the 4- and 8-bar lookbacks, the key, the bar number: a crop of 256 tokens does not reach 8 bars back or the
  # header); feed-forward 384 keeps it under 4 MB with those embeddings. Like the rnn it reads the bars left and two
  # fifths of its crops end at the END; on the one-key tunes (no transposition) dropout 0.2, and a short warm-up (150
  # steps): at one thread it runs about 36 steps a minute (10 before the caching CPU allocator, docs/threading.md).
  [transformer]="--set hidden_size=128 --set num_layers=4 --set num_heads=4 --set feedforward_size=384 --set max_relative_distance=256 --set crop_length=256 --set start_crop_share=0.25 --set end_crop_share=0.4 --set context_lookback=4 --set context_header=true --set context_phrase=true --set context_bars_left=true --set dropout=0.2 --set warmup_steps=150 --set eval_every=100"
)
# The token families sample by default at temperature 0.9 (models/NAME/generation.json, which generate and the studio
# read when no --temperature is given): measured on 50 whole tunes of each, it brings the recurring 2-bar patterns
# into the data's range (rnn 0.46 -> 0.63, gru 0.39 -> 0.55, lstm 0.33 -> 0.50) and their range near the data's,
# with no more copying of training tunes (docs/baselines.md, "Sampling temperature"). The gru, since it reads the bars
# left, samples at 1: at 0.9 a third of its whole tunes loop (one phrase played over and over: looped_bars 0.249 over
# 400 tunes, real tunes 0.04-0.05), at 1 a third less (0.172), with as many endings on the tonic (docs/baselines.md,
# "Loops").
declare -A temperatures=([rnn]=0.9 [lstm]=0.9 [gru]=1.0 [transformer]=0.9)
# The latent families: the small preset is bundle-sized already; the gan reads the piano roll.
declare -A budgets=([vae]=45m [gan]=30m)
# The one-key rnn and gru overfit early (35 minutes on an idle core ran 6,544 and 2,885 steps, the best validation NLL
# at steps 1,500 and 1,000): they train for a fixed number of steps instead, so that their schedules anneal near their
# best, on any machine.
# The transformer: 60 minutes at one thread (2,145 steps since the caching CPU allocator; validation 0.504 at its best,
# flattening from step 1,400; learning rate 0.001 instead of the preset's 0.0005 was worse: 0.513 at its best, in a
# 50-minute run stopped at step 1,560 of 1,763 as it rose).
# The one-key lstm with the bars left: 1,500 steps (about 15 minutes on an idle core).
declare -A lengths=([rnn]="--steps 2300" [lstm]="--steps 1500" [gru]="--steps 1300" [transformer]="--time-budget 60m")
# Then the transformer goes on for 45 minutes on crops of 512 tokens (32 bars: a strain and its repeat, or a tune's
# last 32 bars with the cadence that ends it), 16 a batch (the same tokens a step), from the 60-minute run's best
# weights at learning rate 0.0002 (fine-tuning, `train --init-from`): validation 0.504 -> 0.470, test 0.479 -> 0.446
# (docs/baselines.md, "The transformer on crops of 512"). From scratch on crops of 512 it ran 2.2 times slower a step
# and was no better per step (0.577 against 0.576 at step 400).
declare -A long_crops=([transformer]="--set crop_length=512 --set batch_size=16 --set start_crop_share=0.25 --set end_crop_share=0.4 --set learning_rate=0.0002 --set min_learning_rate=0.00002 --set warmup_steps=50 --set eval_every=100 --time-budget 45m --seed 2")
declare -A shards=([gan]=nottingham_roll.cdz [vae]=nottingham_melody.cdz)
sizes[vae]=""
sizes[gan]=""
for family in ${FAMILIES:-rnn lstm gru transformer vae gan}; do
  shard="$work/${shards[$family]:-nottingham_one_key.cdz}"
  # No transposition: it would undo the move to one key (the trainer refuses it); the vae and gan train without.
  # A family with a second stage (long_crops) trains its first in WORK/FAMILY-first, the second in WORK/FAMILY.
  first_run="$work/$family"
  [ -n "${long_crops[$family]:-}" ] && first_run="$work/$family-first"
  # shellcheck disable=SC2086
  "$cadenza" train --model "$family" --preset small ${sizes[$family]} \
    --data "$shard" --out "$first_run" ${lengths[$family]:---time-budget ${budgets[$family]:-$budget}} --seed 1 \
    --threads "$threads" --overwrite
  if [ -n "${long_crops[$family]:-}" ]; then
    # shellcheck disable=SC2086
    "$cadenza" train --init-from "$first_run" --data "$shard" --out "$work/$family" ${long_crops[$family]} \
      --threads "$threads" --overwrite
  fi
  "$cadenza" evaluate --checkpoint "$work/$family" --data "$shard" --json \
    --threads "$threads" > "$work/$family/test.json"
  mkdir -p "models/nottingham-$family"
  cp "$work/$family/checkpoints/best.safetensors" "models/nottingham-$family/model.safetensors"
  rm -f "models/nottingham-$family/generation.json"
  [ -n "${temperatures[$family]:-}" ] &&
    printf '{"temperature": %s}\n' "${temperatures[$family]}" > "models/nottingham-$family/generation.json"
  # The form of 50 generated 16-bar pieces (default settings) beside 50 real test tunes, first 16 bars of each.
  generator=generate
  case $family in vae | gan) generator=sample ;; esac
  rm -rf "$work/$family/samples"
  "$cadenza" "$generator" --checkpoint "models/nottingham-$family/model.safetensors" --out "$work/$family/samples" \
    -n 50 --bars 16 --seed 1 --threads "$threads" > /dev/null
  "$cadenza" metrics "$work/$family/samples" --bars 16 --reference-shard "$shard" --split test \
    --reference-count 50 --json --mean-only > "$work/$family/form.json"
  /usr/bin/python3 scripts/write_model_card.py "nottingham-$family" "$work/$family" "$work/$family/test.json" \
    "FAMILIES=$family scripts/train_bundled_models.sh $budget $work $threads" "$work/$family/form.json" \
    "cadenza $generator --model nottingham-$family --out samples -n 50 --bars 16 --seed 1
cadenza metrics samples --bars 16 --reference-shard $work/$(basename "$shard") --split test --reference-count 50 --mean-only"
done
