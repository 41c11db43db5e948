// The studio's HTTP API (docs/studio-api.md): JSON requests, MIDI uploads, and jobs whose events stream back as
// server-sent events on the POST's own response (read with fetch, so that leaving the page or pressing Stop closes
// the connection, which cancels the job on the server).

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, response.status);
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

// A MIDI file (a File or Blob) becomes a take on the server; returns the take with its notes.
export async function uploadMidi(file, name) {
  const response = await fetch(`/api/takes?name=${encodeURIComponent(name || file.name || 'upload.mid')}`, {
    method: 'POST',
    headers: { 'Content-Type': 'audio/midi', Accept: 'application/json' },
    body: file,
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

// Splits a server-sent event stream into {type, data} events.
function* parseEvents(buffer, state) {
  state.text += buffer;
  let end;
  while ((end = state.text.indexOf('\n\n')) >= 0) {
    const block = state.text.slice(0, end);
    state.text = state.text.slice(end + 2);
    let type = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (type) yield { type, data: data ? JSON.parse(data) : null };
  }
}

// Runs a job: POST /api/jobs/<kind>; `on` maps event types ("queued", "started", "take-start", "notes", "take") to
// handlers. Resolves with the data of "done"; rejects with an ApiError for a refusal or an "error" event, and with an
// AbortError when `signal` aborts (the server then cancels the job).
export async function runJob(kind, body, on = {}, signal = undefined) {
  const response = await fetch(`/api/jobs/${kind}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const state = { text: '' };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const event of parseEvents(decoder.decode(value, { stream: true }), state)) {
      if (event.type === 'done') return event.data;
      if (event.type === 'error') throw new ApiError(event.data.message, event.data.status);
      if (event.type === 'cancelled') throw new ApiError(event.data.message || 'cancelled', 499);
      if (on[event.type]) on[event.type](event.data);
    }
  }
  throw new ApiError('the server closed the stream before the job ended', 502);
}
