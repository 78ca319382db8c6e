/** The browser's WebGPU: `navigator.gpu` (swapped in for platform-gpu.ts when bundling for the browser). */

// DOM types are not in the library's lib setting: only the one property read here is described.
const host = globalThis as { readonly navigator?: { readonly gpu?: GPU } };

export function platformGpu(): GPU {
  const gpu = host.navigator?.gpu;
  if (!gpu)
    throw new Error(
      host.navigator
        ? 'this browser has no navigator.gpu (WebGPU is off, or the page is not a secure context: serve it from https:// or http://127.0.0.1)'
        : 'no navigator: this code runs outside a browser window or worker',
    );
  return gpu;
}

export const NO_ADAPTER_HINT =
  'Use a browser with WebGPU: Chrome or Edge 113+ on Windows, macOS and ChromeOS; on Linux, Chrome/Chromium with ' +
  'chrome://flags/#enable-unsafe-webgpu enabled (or started with --enable-unsafe-webgpu); check chrome://gpu ' +
  'for "WebGPU: Hardware accelerated" and that the GPU is not blocklisted.';

export const START_FAILURE = 'WebGPU is unavailable';

/** Where the one-line adapter description goes by default: the console's info level. */
export const logAdapterLine = (line: string): void => {
  console.info(line);
};
