import { features } from "../features/index.js";
import type { ServiceDeps, Services } from "../features/module.js";

/** Every feature's services, built in the order features are listed. */
export function createServices(deps: ServiceDeps): Services {
  const services = { rateLimits: deps.rateLimits } as Services;
  for (const feature of features) feature.addServices(deps, services);
  return services;
}
