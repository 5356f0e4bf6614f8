// Browser-side measurements the Python performance monitor reads: long tasks
// (PerformanceObserver "longtask") and gaps between animation frames.
const state = { longTasks: [], frameGaps: [], observing: false, lastFrame: 0, sampling: false };
const MAX = 5000;

export function startObservers() {
  if (state.observing) return;
  state.observing = true;
  try {
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        state.longTasks.push([entry.startTime, entry.duration]);
        if (state.longTasks.length > MAX) state.longTasks.shift();
      }
    });
    observer.observe({ type: "longtask", buffered: true });
  } catch (_) {
    // Browsers without longtask entries report none.
  }
}

function frame(now) {
  if (!state.sampling) return;
  if (state.lastFrame) {
    state.frameGaps.push(now - state.lastFrame);
    if (state.frameGaps.length > MAX) state.frameGaps.shift();
  }
  state.lastFrame = now;
  requestAnimationFrame(frame);
}

export function startFrameSampling() {
  state.frameGaps = [];
  state.lastFrame = 0;
  if (state.sampling) return;
  state.sampling = true;
  requestAnimationFrame(frame);
}

export function stopFrameSampling() {
  state.sampling = false;
  state.lastFrame = 0;
}

// Return and clear what was measured since the last call: [[start, duration]...], [gap...].
export function drain() {
  const out = [state.longTasks, state.frameGaps];
  state.longTasks = [];
  state.frameGaps = [];
  return out;
}

export function memory() {
  const m = performance.memory;
  return m ? [m.usedJSHeapSize, m.totalJSHeapSize, m.jsHeapSizeLimit] : [0, 0, 0];
}

export function now() {
  return performance.now();
}
