// The /artifact subresource until an artifact store exists: a source without `status.artifact`
// has nothing to serve yet, which is a 404 Status like kube's for anything missing.

import type { Request, Response } from 'express';
import type { KubeObject } from '../../apis/meta/types.js';
import type { ResourceStore } from '../../registry/store.js';
import { StatusError } from '../errors.js';
import type { ArtifactServer } from './resources.js';

export const noArtifacts: ArtifactServer = {
  async serve(_req: Request, _res: Response, store: ResourceStore, obj: KubeObject): Promise<void> {
    throw new StatusError(404, 'NotFound', `${store.def.plural}.${store.ref.group} "${obj.metadata.name}" has no artifact yet`, {
      name: obj.metadata.name,
      group: store.ref.group,
      kind: store.def.plural,
    });
  },
};
