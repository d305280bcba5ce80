/**
 * A loopback TCP proxy for fault tests: it forwards each connection made to `listen` to
 * `target` (both on 127.0.0.1) and can cut connections on a schedule. The cluster broker's
 * PROXIED listener advertises the proxy's port (scripts/kafka/config.mjs), so every
 * connection a client opens through that listener, not only the bootstrap one, passes
 * through here.
 */
import net from 'node:net'

export interface ProxyStats {
  /** Connections accepted. */
  accepted: number
  /** Connections this proxy cut (both sides destroyed) by `cutAfter`. */
  cut: number
  /** Socket errors seen (resets after a cut are the expected kind). */
  errors: number
}

export class FaultProxy {
  readonly stats: ProxyStats = { accepted: 0, cut: 0, errors: 0 }
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private readonly clients = new Set<net.Socket>()
  private lifetime: (() => number) | null = null

  private constructor(
    readonly listen: number,
    readonly target: number,
  ) {
    this.server = net.createServer((client) => this.accept(client))
  }

  static async start(listen: number, target: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(listen, target)
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject)
      proxy.server.listen(listen, '127.0.0.1', () => {
        proxy.server.off('error', reject)
        resolve()
      })
    })
    return proxy
  }

  /**
   * From now on, every connection (open or new) is cut after `lifetimeMs()` milliseconds
   * from when this was called or it was accepted; `null` stops cutting new ones.
   */
  cutAfter(lifetimeMs: (() => number) | null): void {
    this.lifetime = lifetimeMs
    if (lifetimeMs) for (const s of this.clients) this.schedule(s, lifetimeMs())
  }

  async close(): Promise<void> {
    this.lifetime = null
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    this.stats.accepted++
    const upstream = net.connect(this.target, '127.0.0.1')
    const pair = [client, upstream]
    for (const s of pair) {
      s.setNoDelay(true)
      this.sockets.add(s)
      // A reset from either side ends both (counted: resets are what cuts cause).
      s.on('error', () => this.stats.errors++)
      s.on('close', () => {
        this.sockets.delete(s)
        this.clients.delete(s)
        for (const other of pair) other.destroy()
      })
    }
    this.clients.add(client)
    client.pipe(upstream)
    upstream.pipe(client)
    if (this.lifetime) this.schedule(client, this.lifetime())
  }

  private schedule(socket: net.Socket, ms: number): void {
    const timer = setTimeout(() => {
      if (socket.destroyed) return
      this.stats.cut++
      socket.destroy()
    }, ms)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  }
}
