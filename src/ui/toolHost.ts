// What a tool view (the lens, inside the model, the experiments) may ask of the app, and the one way
// such a view runs an action: only when the engine is free, holding it meanwhile, errors reported.

export interface ToolHost {
  /** May the view use the engine now (no generation or load running)? Reports why not. */
  canRun(): boolean;
  setBusy(busy: boolean): void;
  error(message: string): void;
}

/** Runs `action` holding the engine; a failure becomes the app's error message, never a thrown error. */
export async function runTool(host: ToolHost, action: () => Promise<void>): Promise<void> {
  if (!host.canRun()) return;
  host.setBusy(true);
  try {
    await action();
  } catch (e) {
    host.error((e as Error).message);
  } finally {
    host.setBusy(false);
  }
}
