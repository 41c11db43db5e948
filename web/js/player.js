// Sound: a General MIDI SoundFont (served by the studio from Debian's timgm6mb-soundfont) played by spessasynth_lib's
// AudioWorklet synthesizer, through a master gain and an AnalyserNode (the browser tests read its level) to the
// speakers. Takes play with a look-ahead scheduler (notes are handed to the synthesizer with their audio-clock times
// a fraction of a second ahead), so Stop and Loop are exact. Without a SoundFont, or if the synthesizer cannot
// start, a small oscillator synthesizer stands in so that playback still works.

const LOOKAHEAD_SECONDS = 0.25;
const TICK_MS = 40;

// A plain Web Audio synthesizer with the spessasynth calls the player uses.
class OscillatorSynth {
  constructor(context, output) {
    this.context = context;
    this.output = output;
    this.voices = new Map();
  }
  programChange() {}
  noteOn(channel, pitch, velocity, options) {
    const time = options ? options.time : this.context.currentTime;
    const osc = this.context.createOscillator();
    const gain = this.context.createGain();
    osc.type = channel === 9 ? 'square' : 'triangle';
    osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
    gain.gain.setValueAtTime(0, time);
    gain.gain.linearRampToValueAtTime(0.25 * (velocity / 127), time + 0.01);
    osc.connect(gain).connect(this.output);
    osc.start(time);
    const key = `${channel}:${pitch}`;
    if (!this.voices.has(key)) this.voices.set(key, []);
    this.voices.get(key).push({ osc, gain });
  }
  noteOff(channel, pitch, options) {
    const time = options ? options.time : this.context.currentTime;
    const list = this.voices.get(`${channel}:${pitch}`);
    if (!list || !list.length) return;
    const { osc, gain } = list.shift();
    gain.gain.setTargetAtTime(0, time, 0.05);
    osc.stop(time + 0.4);
  }
  stopAll() {
    for (const list of this.voices.values())
      for (const { osc } of list) {
        try {
          osc.stop();
        } catch {
          // already stopped
        }
      }
    this.voices.clear();
  }
}

export class Player extends EventTarget {
  constructor() {
    super();
    this.context = null;
    this.synth = null;
    this.kind = 'none'; // "soundfont" | "oscillator"
    this.starting = null;
    this.playing = null; // {take, timer, ...}
    this.mutedUntil = 0; // audio-clock time until which a stopped take's last notes are muted
    this.soundfontUrl = '/soundfont';
  }

  // Starts audio (call from a user gesture: browsers start an AudioContext only then).
  async start() {
    if (this.synth) {
      if (this.context.state !== 'running') await this.context.resume();
      return this;
    }
    if (!this.starting) this.starting = this.#open();
    await this.starting;
    return this;
  }

  async #open() {
    const context = new AudioContext({ latencyHint: 'interactive' });
    this.context = context;
    this.master = context.createGain();
    this.master.gain.value = 0.9;
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.master.connect(this.analyser);
    this.analyser.connect(context.destination);
    const resumed = context.resume();
    try {
      if (!this.soundfontUrl) throw new Error('no SoundFont is installed');
      const [{ WorkletSynthesizer }, soundfont] = await Promise.all([
        import('spessasynth_lib'),
        fetch(this.soundfontUrl).then((r) => {
          if (!r.ok) throw new Error(`the SoundFont could not be loaded (${r.status})`);
          return r.arrayBuffer();
        }),
        context.audioWorklet.addModule('/vendor/spessasynth_processor.js'),
      ]);
      const synth = new WorkletSynthesizer(context);
      await synth.soundBankManager.addSoundBank(soundfont, 'main');
      await synth.isReady;
      synth.connect(this.master);
      this.synth = synth;
      this.kind = 'soundfont';
    } catch (error) {
      console.warn('Cadenza Studio: SoundFont synthesizer unavailable, using oscillators:', error);
      this.synth = new OscillatorSynth(context, this.master);
      this.kind = 'oscillator';
      this.dispatchEvent(new CustomEvent('fallback', { detail: String(error.message || error) }));
    }
    await resumed;
    this.dispatchEvent(new CustomEvent('ready', { detail: this.kind }));
  }

  // RMS of the master output right now (0 = silence).
  level() {
    if (!this.analyser) return 0;
    const data = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const value of data) sum += value * value;
    return Math.sqrt(sum / data.length);
  }

  now() {
    return this.context ? this.context.currentTime : 0;
  }

  // Live notes (the duet's keyboard), channel 0 = the musician.
  noteOn(channel, pitch, velocity = 100, time = undefined) {
    if (!this.synth) return;
    this.synth.noteOn(channel, pitch, velocity, time === undefined ? undefined : { time });
  }
  noteOff(channel, pitch, time = undefined) {
    if (!this.synth) return;
    this.synth.noteOff(channel, pitch, time === undefined ? undefined : { time });
  }
  program(channel, program) {
    if (this.synth) this.synth.programChange(channel, program);
  }

  // Channels of a take's tracks: drums on 9, the others 0.. in order (skipping 9).
  static channels(take) {
    let next = 0;
    return (take.tracks || []).map((track) => {
      if (track.drum) return 9;
      if (next === 9) next++;
      const channel = next % 16;
      next++;
      return channel;
    });
  }

  // Plays a take from the start; `loop` repeats it (whole bars) until stop(). onPosition(beat) is called as it
  // plays, onEnd() when it ends or is stopped.
  async play(take, { loop = false, onPosition = null, onEnd = null } = {}) {
    await this.start();
    this.stop();
    const channels = Player.channels(take);
    (take.tracks || []).forEach((track, i) => {
      if (!track.drum) this.program(channels[i], track.program || 0);
    });
    const secondsPerBeat = 60 / (take.qpm || 120);
    const bar = take.beats_per_bar || 4;
    const lengthBeats = Math.max(bar, Math.ceil((take.length_beats || 0) / bar) * bar);
    const notes = [...(take.notes || [])].sort((a, b) => a.start - b.start);
    const lastEnd = notes.reduce((end, note) => Math.max(end, note.end), 0) * secondsPerBeat;
    const state = {
      take,
      loop,
      onPosition,
      onEnd,
      origin: Math.max(this.context.currentTime + 0.08, this.mutedUntil + 0.02),
      cycle: 0,
      next: 0,
      notes,
      channels,
      secondsPerBeat,
      cycleSeconds: lengthBeats * secondsPerBeat,
      sounding: [],
    };
    this.playing = state;
    const tick = () => {
      if (this.playing !== state) return;
      const horizon = this.context.currentTime + LOOKAHEAD_SECONDS;
      for (;;) {
        const cycleStart = state.origin + state.cycle * state.cycleSeconds;
        if (state.next >= state.notes.length) {
          if (!state.loop) break;
          if (cycleStart + state.cycleSeconds > horizon) break;
          state.cycle++;
          state.next = 0;
          continue;
        }
        const note = state.notes[state.next];
        const on = cycleStart + note.start * secondsPerBeat;
        if (on > horizon) break;
        const off = cycleStart + note.end * secondsPerBeat;
        const channel = channels[note.track] ?? 0;
        this.synth.noteOn(channel, note.pitch, note.velocity || 100, { time: Math.max(on, this.context.currentTime) });
        this.synth.noteOff(channel, note.pitch, { time: Math.max(off, this.context.currentTime + 0.01) });
        state.next++;
      }
      const elapsed = this.context.currentTime - state.origin;
      const beat = elapsed >= 0 ? (elapsed % state.cycleSeconds) / secondsPerBeat : 0;
      if (state.onPosition) state.onPosition(state.loop ? beat : Math.min(beat, lengthBeats));
      if (!state.loop && elapsed > lastEnd + 0.3) {
        this.#finish(state);
        return;
      }
      state.timer = setTimeout(tick, TICK_MS);
    };
    tick();
    this.dispatchEvent(new CustomEvent('play', { detail: take }));
  }

  #finish(state) {
    clearTimeout(state.timer);
    if (this.playing === state) this.playing = null;
    if (state.onPosition) state.onPosition(null);
    if (state.onEnd) state.onEnd();
    this.dispatchEvent(new CustomEvent('stop', { detail: state.take }));
  }

  // Stops the take playing now: notes already handed to the synthesizer (up to the look-ahead) are muted by the
  // master gain until they are past.
  stop() {
    const state = this.playing;
    if (!state) return;
    this.playing = null;
    const now = this.context.currentTime;
    this.mutedUntil = now + LOOKAHEAD_SECONDS + 0.06;
    this.master.gain.cancelScheduledValues(now);
    this.master.gain.setValueAtTime(0, now);
    this.master.gain.setValueAtTime(0.9, this.mutedUntil);
    this.synth.stopAll(true);
    setTimeout(() => this.synth.stopAll(true), Math.max(0, (this.mutedUntil - now) * 1000 - 30));
    this.#finish(state);
  }

  isPlaying(take) {
    return this.playing != null && (!take || this.playing.take.id === take.id);
  }
}
