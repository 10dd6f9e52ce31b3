// NextToken uses @xenova/transformers for tokenizers and chat templates only; inference is ours, in
// TF.js. transformers.js imports onnxruntime-web at load time anyway, which would add its runtime to
// the browser bundle. The browser build resolves that import here: the two fields transformers.js
// touches while loading, and nothing that runs a model.
export const env = { wasm: {} as Record<string, unknown>, webgl: {} as Record<string, unknown> };
export class Tensor {
  constructor() {
    throw new Error('onnxruntime-web is not part of NextToken: tokenizers do not need it');
  }
}
export class InferenceSession {
  static create(): never {
    throw new Error('onnxruntime-web is not part of NextToken: inference runs in TensorFlow.js');
  }
}
export default { env, Tensor, InferenceSession };
