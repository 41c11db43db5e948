// Cadenza Studio's page: tabs, the models and takes every tab shares, the player, and the server's health.
// window.studio is this state (the browser tests use it to wait for the page and to read what it did).

import { getJSON } from './api.js';
import { setupContinue } from './continue.js';
import { setupCreate } from './create.js';
import { setupDuet } from './duet.js';
import { setupInterpolate } from './interpolate.js';
import { Player } from './player.js';
import { setupRuns } from './runs.js';

const TABS = ['create', 'continue', 'duet', 'interpolate', 'runs'];
const HEALTH_MS = 5000;

class Studio extends EventTarget {
  constructor() {
    super();
    this.info = null;
    this.models = [];
    this.takes = new Map(); // every take the page has seen, by id
    this.player = new Player();
    this.tab = 'create';
    this.errors = [];
    // What streamed in (the browser tests check that notes arrive while a take is generated).
    this.stats = { notesEvents: 0, streamedNotes: 0 };
  }

  model(id) {
    return this.models.find((m) => m.id === id) || null;
  }

  // A model with its capabilities and controls; a run's model is opened on the server the first time.
  async loadModel(id) {
    if (!id) return null;
    const known = this.model(id);
    if (known && known.loaded) return known;
    const detail = await getJSON(`/api/models/detail?id=${encodeURIComponent(id)}`);
    const index = this.models.findIndex((m) => m.id === id);
    if (index >= 0) this.models[index] = detail;
    else this.models.push(detail);
    return detail;
  }

  async refreshModels() {
    const body = await getJSON('/api/models');
    this.models = body.models;
    this.dispatchEvent(new CustomEvent('models'));
    return this.models;
  }

  remember(take) {
    this.takes.set(take.id, take);
    this.refreshTakeSelects();
  }

  // Every "take" <select> lists the takes, newest first.
  refreshTakeSelects() {
    const takes = [...this.takes.values()].reverse();
    for (const select of document.querySelectorAll('select.take-select')) {
      const previous = select.value;
      select.replaceChildren(new Option('—', ''));
      for (const take of takes) select.append(new Option(`${take.name} (${take.kind})`, take.id));
      if (takes.some((t) => t.id === previous)) select.value = previous;
    }
  }

  // "Use in…" on a take card.
  useTake(take, target) {
    if (target === 'continue') {
      this.continueTab.setPrimer(take);
      this.selectTab('continue');
    } else if (target === 'a' || target === 'b') {
      this.interpolateTab.setEnd(target, take);
      this.selectTab('interpolate');
    } else if (target === 'vary') {
      this.interpolateTab.setVary(take);
      this.selectTab('interpolate');
    }
  }

  async openInCreate(modelId) {
    this.selectTab('create');
    await this.createTab.selectModel(modelId);
  }

  isTab(name) {
    return this.tab === name;
  }

  selectTab(name) {
    if (!TABS.includes(name)) return;
    this.tab = name;
    for (const tab of TABS) {
      document.getElementById(`tab-${tab}`).setAttribute('aria-selected', String(tab === name));
      document.getElementById(`panel-${tab}`).hidden = tab !== name;
    }
    if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
    this.dispatchEvent(new CustomEvent('tab', { detail: name }));
  }

  setStatus(element, text, isError = false) {
    element.textContent = text;
    element.classList.toggle('error', isError);
    if (isError) this.errors.push(text);
  }

  showError(text) {
    const box = document.getElementById('message');
    box.textContent = text;
    box.className = 'message';
    box.hidden = !text;
    if (text) this.errors.push(text);
  }
}

async function watchHealth(studio) {
  const dot = document.getElementById('server-status');
  try {
    const health = await getJSON('/api/health');
    const queue = health.queue;
    dot.className = 'dot ok';
    dot.textContent = queue.running ? `busy (${queue.waiting} waiting)` : 'ready';
  } catch {
    dot.className = 'dot bad';
    dot.textContent = 'server unreachable';
  }
  setTimeout(() => watchHealth(studio), HEALTH_MS);
}

async function main() {
  const studio = new Studio();
  window.studio = studio;
  document.addEventListener('securitypolicyviolation', (event) =>
    studio.errors.push(`content security policy: ${event.violatedDirective} refused ${event.blockedURI}`),
  );
  studio.createTab = setupCreate(studio);
  studio.continueTab = setupContinue(studio);
  studio.duetTab = setupDuet(studio);
  studio.interpolateTab = setupInterpolate(studio);
  studio.runsTab = setupRuns(studio);
  for (const tab of TABS) document.getElementById(`tab-${tab}`).addEventListener('click', () => studio.selectTab(tab));

  const audio = document.getElementById('audio-status');
  studio.player.addEventListener('ready', (event) => {
    audio.className = 'dot on';
    audio.textContent = event.detail === 'soundfont' ? 'sound on' : 'sound on (simple synth)';
  });
  studio.player.addEventListener('fallback', (event) =>
    studio.showError(`The SoundFont synthesizer could not start (${event.detail}); playing with a simple synthesizer.`),
  );
  // Browsers start sound only after a gesture: the first click or key anywhere starts it.
  const startAudio = () => studio.player.start().catch((error) => studio.showError(`No sound: ${error.message}`));
  window.addEventListener('pointerdown', startAudio, { once: true, capture: true });
  window.addEventListener('keydown', startAudio, { once: true, capture: true });

  try {
    studio.info = await getJSON('/api/info');
    if (!studio.info.soundfont) {
      studio.player.soundfontUrl = null;
      const box = document.getElementById('message');
      box.textContent = 'No General MIDI SoundFont is installed on the server (timgm6mb-soundfont): takes play with a simple synthesizer.';
      box.className = 'message info';
      box.hidden = false;
    }
    await studio.refreshModels();
  } catch (error) {
    studio.showError(`The studio's server did not answer: ${error.message}`);
  }
  watchHealth(studio);
  const initial = location.hash.slice(1);
  studio.selectTab(TABS.includes(initial) ? initial : 'create');
  studio.dispatchEvent(new CustomEvent('ready'));
  studio.ready = true;
}

main();
