// A piano roll on a canvas: notes as bars (time across in beats, pitch up), the musician's notes in blue and the
// model's in orange, bar lines, an optional marker (where a primer ends) and a playhead. It redraws at most once per
// animation frame however often notes arrive. The canvas carries what it drew in data attributes (data-notes,
// data-user-notes, data-model-notes), which the browser tests read.

const COLOURS = { user: '#3b7be8', model: '#ea7a2c' };
const SHADES = { user: ['#3b7be8', '#2a5db8', '#6d9ef0'], model: ['#ea7a2c', '#c25a14', '#f2a366'] };

export class PianoRoll {
  constructor(canvas, { minBeats = 8 } = {}) {
    this.canvas = canvas;
    this.minBeats = minBeats;
    this.notes = []; // {track, pitch, start, end, velocity, role}
    this.beatsPerBar = 4;
    this.lengthBeats = 0;
    this.marker = null;
    this.playhead = null;
    this.pending = false;
    this.resizeObserver = new ResizeObserver(() => this.requestDraw());
    this.resizeObserver.observe(canvas);
  }

  // A whole take: its notes with each track's role.
  setTake(take) {
    const roles = (take.tracks || []).map((track) => track.role || 'model');
    this.notes = (take.notes || []).map((note) => ({ ...note, role: roles[note.track] || 'model' }));
    this.beatsPerBar = take.beats_per_bar || 4;
    this.lengthBeats = take.length_beats || 0;
    this.requestDraw();
  }

  // More notes of a take being generated.
  addNotes(notes, role = 'model') {
    for (const note of notes) this.notes.push({ ...note, role });
    this.requestDraw();
  }

  clear() {
    this.notes = [];
    this.lengthBeats = 0;
    this.marker = null;
    this.playhead = null;
    this.requestDraw();
  }

  setMarker(beat) {
    this.marker = beat;
    this.requestDraw();
  }

  setPlayhead(beat) {
    this.playhead = beat;
    this.requestDraw();
  }

  requestDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth || 600;
    const cssHeight = canvas.clientHeight || canvas.height || 160;
    if (canvas.width !== Math.round(cssWidth * ratio) || canvas.height !== Math.round(cssHeight * ratio)) {
      canvas.width = Math.round(cssWidth * ratio);
      canvas.height = Math.round(cssHeight * ratio);
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, cssWidth, cssHeight);
    g.fillStyle = '#fbfcfd';
    g.fillRect(0, 0, cssWidth, cssHeight);

    const notes = this.notes;
    let low = 60;
    let high = 72;
    let end = Math.max(this.minBeats, this.lengthBeats, this.marker || 0);
    if (notes.length) {
      low = 127;
      high = 0;
      for (const note of notes) {
        low = Math.min(low, note.pitch);
        high = Math.max(high, note.pitch);
        end = Math.max(end, note.end);
      }
    }
    // At least an octave and a half, centred on the notes.
    const span = Math.max(18, high - low + 4);
    const centre = (low + high) / 2;
    low = Math.floor(centre - span / 2);
    high = low + span;
    const bar = this.beatsPerBar || 4;
    end = Math.ceil(end / bar) * bar;
    const left = 28;
    const x = (beat) => left + (beat / end) * (cssWidth - left - 4);
    const rowHeight = (cssHeight - 4) / (high - low + 1);
    const y = (pitch) => 2 + (high - pitch) * rowHeight;

    // Black-key rows and C labels.
    g.font = '10px system-ui, sans-serif';
    for (let pitch = low; pitch <= high; pitch++) {
      const pc = ((pitch % 12) + 12) % 12;
      if ([1, 3, 6, 8, 10].includes(pc)) {
        g.fillStyle = '#f0f2f5';
        g.fillRect(left, y(pitch), cssWidth - left, rowHeight);
      }
      if (pc === 0) {
        g.fillStyle = '#8b97a8';
        g.fillText(`C${Math.floor(pitch / 12) - 1}`, 2, y(pitch) + rowHeight);
      }
    }
    // Beat and bar lines.
    for (let beat = 0; beat <= end; beat++) {
      g.strokeStyle = beat % bar === 0 ? '#c5ccd6' : '#e6e9ee';
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(Math.round(x(beat)) + 0.5, 0);
      g.lineTo(Math.round(x(beat)) + 0.5, cssHeight);
      g.stroke();
    }
    // Notes.
    let user = 0;
    let model = 0;
    for (const note of notes) {
      const role = note.role === 'user' ? 'user' : 'model';
      const shades = SHADES[role];
      const faded = this.marker != null && role === 'user' && note.start >= this.marker;
      g.globalAlpha = faded ? 0.25 : 0.55 + 0.45 * ((note.velocity || 100) / 127);
      g.fillStyle = shades[(note.track || 0) % shades.length] || COLOURS[role];
      const width = Math.max(2, x(note.end) - x(note.start) - 1);
      g.fillRect(x(note.start), y(note.pitch) + 0.5, width, Math.max(2, rowHeight - 1));
      if (role === 'user') user++;
      else model++;
    }
    g.globalAlpha = 1;
    if (this.marker != null) {
      g.strokeStyle = '#1d2633';
      g.lineWidth = 2;
      g.setLineDash([5, 4]);
      g.beginPath();
      g.moveTo(x(this.marker), 0);
      g.lineTo(x(this.marker), cssHeight);
      g.stroke();
      g.setLineDash([]);
    }
    if (this.playhead != null) {
      g.strokeStyle = '#c0392b';
      g.lineWidth = 2;
      g.beginPath();
      g.moveTo(x(this.playhead), 0);
      g.lineTo(x(this.playhead), cssHeight);
      g.stroke();
    }
    canvas.dataset.notes = String(notes.length);
    canvas.dataset.userNotes = String(user);
    canvas.dataset.modelNotes = String(model);
  }
}
