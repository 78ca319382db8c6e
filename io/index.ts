/** File access behind one small interface: the disk in Node, fetch and dropped files in a browser. */
export { FileNotFoundError, isNotFound, type FileSource } from './files.ts';
export { platformFiles, joinPath, urlToPath } from './platform.ts';
export { fetchFiles } from './fetch.ts';
export { memoryFiles, mountFiles, unmountFiles, MEMORY_SCHEME, type MemoryFile } from './memory.ts';
export { joinUrlPath } from './paths.ts';
