// The wall clock, as the services and meanwhiled read it, in unix ns.
//
// Not performance.timeOrigin + performance.now(): that is this process's monotonic clock
// since it started, which parts from the wall clock whenever the wall clock is slewed or
// stepped (a VM catching up was seen stepping it 0.5 ms every 100 ms: after a minute the
// two differ by 300 ms), so a time taken from it can fall before data that a service
// stamped earlier. Date.now() reads the wall clock, to the millisecond.
export const nowNs = () => BigInt(Date.now()) * 1_000_000n;

// The same as a JSON-safe number of ns (exact to 256 ns at today's times).
export const nowNsNumber = () => Date.now() * 1e6;
