// Model addresses, pure (no TF.js): the UI reads them too.

/** Whether a model address names one GGUF file rather than a Hugging Face folder. */
export function isGgufUrl(url: string): boolean {
  return /\.gguf(?:[?#]|$)/i.test(url);
}

/** The folder a model lives in, ending in "/": a folder address itself, or the one holding a GGUF file. */
export function modelFolder(url: string): string {
  return isGgufUrl(url) ? url.split(/[?#]/)[0].replace(/[^/]*$/, '') : url.replace(/\/?$/, '/');
}
