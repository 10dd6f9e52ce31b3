// A long job stopped by its user, and how far it got. No dependencies: the page and the worker share it.
export class CancelledError extends Error {
  constructor(
    readonly done: number,
    readonly total: number,
  ) {
    super(`Cancelled after ${done} of ${total}.`);
  }
}
