// Preloaded (node --require) into the processes `npm start` spawns. They get an IPC channel to
// the parent; if the parent dies without stopping them (kill -9), the channel closes and they stop too.
if (process.send) {
  process.on("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => process.exit(1), 10_000).unref();
  });
}
