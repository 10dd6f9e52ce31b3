// bench.html's one script: the engine benchmark (npm run bench:browser), or with ?peer both engines side
// by side (npm run bench:peer). Each is loaded only when asked for.
if (new URLSearchParams(location.search).has('peer')) await import('./peer.ts');
else await import('./main.ts');
export {};
