// Generation controls built from what a model can do: GET /api/models gives each model its "controls" (name, label,
// type, range, default, and "only_with" for a control that applies only when another has a given value). The page
// never hard-codes a family: a model without a temperature simply has no temperature control.

const remembered = new Map(); // "form id:model id" -> {name: value}, so switching models and back keeps the settings

// Builds the controls of `model` into `form`, leaving out `exclude` (names another part of the tab sets itself), with
// `defaults` instead of the model's defaults where given. Returns {values(): the options to send, model}.
export function buildControls(form, model, { exclude = [], defaults = {} } = {}) {
  form.replaceChildren();
  const controls = (model && model.controls ? model.controls : [])
    .filter((c) => !exclude.includes(c.name))
    .map((c) => (c.name in defaults ? { ...c, default: defaults[c.name] } : c));
  const key = `${form.id}:${model ? model.id : ''}`;
  const saved = remembered.get(key) || {};
  const inputs = new Map();
  for (const control of controls) {
    const label = document.createElement('label');
    label.dataset.control = control.name;
    label.append(document.createTextNode(control.label));
    let input;
    if (control.type === 'choice') {
      input = document.createElement('select');
      control.choices.forEach((choice, i) => input.append(new Option(control.choice_labels?.[i] ?? choice, choice)));
      input.value = saved[control.name] ?? control.default;
    } else if (control.type === 'boolean') {
      input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = saved[control.name] ?? control.default;
    } else if (control.type === 'text') {
      input = document.createElement('input');
      input.type = 'text';
      if (control.max_length) input.maxLength = control.max_length;
      input.placeholder = control.placeholder ?? '';
      input.value = saved[control.name] ?? control.default;
      label.classList.add('wide');
    } else {
      input = document.createElement('input');
      input.type = 'number';
      input.min = control.min;
      input.max = control.max;
      input.step = control.step ?? 'any';
      input.value = saved[control.name] ?? control.default;
    }
    input.name = control.name;
    if (control.name === 'seed') {
      label.classList.add('wide');
      const row = document.createElement('span');
      row.className = 'seed';
      const dice = document.createElement('button');
      dice.type = 'button';
      dice.className = 'small';
      dice.textContent = 'new';
      dice.title = 'A new random seed';
      dice.addEventListener('click', () => {
        input.value = String(Math.floor(Math.random() * 1e6));
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
      row.append(input, dice);
      label.append(row);
    } else {
      label.append(input);
    }
    form.append(label);
    inputs.set(control.name, { control, input, label });
  }
  const applyVisibility = () => {
    for (const { control, label } of inputs.values()) {
      if (!control.only_with) continue;
      const visible = Object.entries(control.only_with).every(([name, value]) => {
        const other = inputs.get(name);
        return other && other.input.value === value;
      });
      label.hidden = !visible;
    }
  };
  // Properties, not addEventListener: the form is rebuilt for every model chosen, and listeners added each time would
  // pile up, the older ones writing the settings of detached inputs.
  form.onchange = () => {
    applyVisibility();
    if (model) remembered.set(key, readAll());
  };
  form.onsubmit = (event) => event.preventDefault();
  applyVisibility();

  function readAll() {
    const out = {};
    for (const [name, { input }] of inputs) out[name] = input.type === 'checkbox' ? input.checked : input.value;
    return out;
  }

  return {
    model,
    // The values to send: numbers as numbers, hidden (not applicable) controls left out. Throws naming a value out
    // of its range, before anything is sent.
    values() {
      const out = {};
      for (const [name, { control, input, label }] of inputs) {
        if (label.hidden) continue;
        if (control.type === 'choice' || control.type === 'text') {
          out[name] = input.value;
          continue;
        }
        if (control.type === 'boolean') {
          out[name] = input.checked;
          continue;
        }
        const value = Number(input.value);
        if (input.value === '' || !Number.isFinite(value) || value < control.min || value > control.max)
          throw new Error(`${control.label}: give a number from ${control.min} to ${control.max}`);
        out[name] = control.type === 'integer' ? Math.round(value) : value;
      }
      return out;
    },
    set(name, value) {
      const entry = inputs.get(name);
      if (entry) entry.input.value = value;
    },
  };
}

// A loader of models for one tab's <select>: a load overtaken by a later one resolves to {stale: true} (and its error
// is dropped), so a slow answer for a model chosen before never rebuilds the controls of the one chosen since.
export function latestModelLoader(studio) {
  let latest = 0;
  return async (id) => {
    const ticket = ++latest;
    try {
      const model = await studio.loadModel(id);
      return { model, stale: ticket !== latest };
    } catch (error) {
      if (ticket !== latest) return { model: null, stale: true };
      throw error;
    }
  };
}

// Fills a <select> with models, grouped by origin; `filter` keeps those a tab can use (it sees the capabilities
// of loaded models). A run's model is opened only when first used: with `unloaded`, those not yet opened are listed
// too (Create can use any model).
export function fillModelSelect(select, models, filter = () => true, { preferred = '', unloaded = false } = {}) {
  const previous = select.value || preferred;
  select.replaceChildren();
  const groups = { bundled: 'Bundled models', checkpoint: 'Checkpoints', run: 'Training runs' };
  for (const [origin, title] of Object.entries(groups)) {
    const usable = models.filter(
      (m) => m.origin === origin && !m.error && (m.loaded ? filter(m) : unloaded && origin === 'run'),
    );
    if (!usable.length) continue;
    const group = document.createElement('optgroup');
    group.label = title;
    for (const model of usable)
      group.append(new Option(`${model.id} (${model.loaded ? model.family : 'not opened yet'})`, model.id));
    select.append(group);
  }
  const ids = [...select.options].map((o) => o.value);
  if (ids.includes(previous)) select.value = previous;
  else if (ids.includes(preferred)) select.value = preferred;
  return ids.length;
}
