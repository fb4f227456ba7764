import { features } from "../features/index.js";
import type { ApiFeature, ServiceDeps, Services } from "../features/module.js";

/** Every feature's API part, in list order (loaded here so that worker processes never load them). */
export async function loadApiFeatures(): Promise<ApiFeature[]> {
  return Promise.all(features.map(async (f) => ({ name: f.name, schemaFile: f.schemaFile, ...(await f.api()) })));
}

/** Every feature's services, built in the order features are listed. */
export function createServices(deps: ServiceDeps, apiFeatures: readonly ApiFeature[]): Services {
  const services = { rateLimits: deps.rateLimits } as Services;
  for (const feature of apiFeatures) feature.addServices(deps, services);
  return services;
}
