// Preloaded into the soak's server process (`node --expose-gc --import <this> …`), never into production:
// on SIGUSR2 it runs a full garbage collection and prints one line with process.memoryUsage(), so the soak
// compares live memory after GC instead of whatever garbage happens to be lying around.
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  process.stdout.write(`SOAK_MEMORY ${JSON.stringify(process.memoryUsage())}\n`);
});
