// Every kind of gitops.toolkit/v1, in the order discovery and kubectl list them.

import type { ResourceDefinition } from '../meta/resource.js';
import { bucket } from './bucket.js';
import { gitRepository } from './git-repository.js';
import { helmChart } from './helm-chart.js';
import { helmRelease } from './helm-release.js';
import { helmRepository } from './helm-repository.js';
import { kustomization } from './kustomization.js';
import { ociRepository } from './oci-repository.js';

export const resources: ResourceDefinition[] = [gitRepository, ociRepository, helmRepository, helmChart, bucket, kustomization, helmRelease];

export { bucket, gitRepository, helmChart, helmRelease, helmRepository, kustomization, ociRepository };
