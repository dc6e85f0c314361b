// The router's addresses as functions of its base URL (router.ts lists the address forms), so a
// control plane that runs the router in another process (the CLI's RemoteServingPlane) formats them
// exactly as the router itself does.

/** A route's (Service's) address: `<base>/<namespace>/<name>`. */
export function routeAddress(base: string, namespace: string, name: string): string {
  return `${base}/${namespace}/${name}`;
}

/** A traffic tag's address: `<base>/<namespace>/<tag>-<name>`. */
export function tagAddress(base: string, namespace: string, name: string, tag: string): string {
  return `${base}/${namespace}/${tag}-${name}`;
}

/** A revision's own address: `<base>/<namespace>/<revision>`. */
export function revisionAddress(base: string, namespace: string, revision: string): string {
  return `${base}/${namespace}/${revision}`;
}
