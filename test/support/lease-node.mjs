// The lease engine over the built library under Node (the @libsql/client driver): a "server" of the node tests.

/**
 * Opens the store at `path` and an engine over it, at a clock standing at
 * `nowMs` that the caller moves with `advance`; timers never fire (the tests
 * drive scheduling passes themselves with reconcile()).
 */
export async function openNodeLab(drover, path, nowMs) {
  let now = nowMs;
  const clock = { now: () => new Date(now) };
  const timers = { after: () => () => {} };
  const store = await drover.openStore({ path });
  const events = drover.createEventBus({ store, clock });
  const granted = [];
  events.subscribe((event) => {
    if (event.type === "lease.granted") granted.push(event.subjectId);
  });
  const engine = drover.createLeaseService({ store, events, clock, timers });
  return {
    store,
    engine,
    /** Names of the leases this lab granted. */
    granted,
    advance(ms) {
      now += ms;
    },
    close: () => store.close(),
  };
}
