/**
 * Where Node gets its WebGPU: Dawn (npm `webgpu`). Bundling for the browser swaps this module for
 * `platform-gpu.browser.ts` (package.json "browser" field), which returns `navigator.gpu`.
 */
import { create, globals } from 'webgpu';

let instance: GPU | undefined;

/**
 * The process's one Dawn instance (made on first use, then kept for the life of the process); installs
 * WebGPU's globals (GPUBufferUsage, GPUMapMode, …) that the kernels read. One instance, never released:
 * a Dawn instance made per device and dropped with it (so collected, or torn down at exit, after its
 * device was destroyed) crashed Node at random at exit (SIGSEGV, or an abort "std::system_error" /
 * "pthread_mutex_lock" in Dawn's threads); a destroyed device no longer keeps Node alive, so the kept
 * instance does not hold the process open.
 */
export function platformGpu(): GPU {
  if (instance) return instance;
  Object.assign(globalThis, globals);
  instance = create([]);
  return instance;
}

/** What to do when there is no adapter, for this platform. */
export const NO_ADAPTER_HINT =
  "Dawn needs a Vulkan driver: on Debian bookworm install Mesa's lavapipe " +
  'from bookworm-backports (`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`, as ' +
  '.ci/install-system-libs.sh does; plain bookworm Mesa 22 is too old); on a machine with a GPU install the ' +
  "vendor's Vulkan driver.";

/** What the error says when the GPU object itself cannot be made. */
export const START_FAILURE = 'Dawn failed to start';

/** Where the one-line adapter description goes by default: standard error, so stdout stays the command's output. */
export const logAdapterLine = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
