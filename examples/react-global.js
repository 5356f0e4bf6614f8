// The host's "react" module for this example page: the vendored React UMD build sets the
// window.React global (a classic script), and the page's import map points "react" here.
// A host app with a bundler resolves "react" from its own node_modules instead.
const React = globalThis.React;
if (!React) throw new Error("load static/vendor/react/react.production.min.js before importing react");

export default React;
export const {
  Fragment,
  createElement,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} = React;
