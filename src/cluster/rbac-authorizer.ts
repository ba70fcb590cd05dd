// RBAC with the cluster's own Role, ClusterRole, RoleBinding and ClusterRoleBinding objects: the
// evaluator the standalone server uses (src/auth/authz/rbac.ts), rebuilt from the stores whenever one of
// them changes (watched, so a new binding applies to the next request, with no restart).

import type { KubeObject } from '../apis/meta/types.js';
import { RBACAuthorizer, type RBACObject } from '../auth/authz/rbac.js';
import type { Authorizer, Decision, RequestAttributes, Rules, UserInfo } from '../auth/types.js';
import type { Logger } from '../observability/logger.js';
import type { ResourceStores } from '../registry/resource-stores.js';
import { StoreFollowers } from '../registry/watch-store.js';

const RBAC = 'rbac.authorization.k8s.io';
const PLURALS = ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'];

export class ClusterRBACAuthorizer implements Authorizer {
  private readonly objects = new Map<string, RBACObject>();
  private current: RBACAuthorizer = new RBACAuthorizer([]);
  private dirty = true;
  private readonly followers: StoreFollowers;

  constructor(
    private readonly stores: ResourceStores,
    log: Logger,
  ) {
    this.followers = new StoreFollowers(log);
  }

  /** Lists every RBAC object, then follows their watches. */
  async start(): Promise<void> {
    for (const plural of PLURALS) await this.followers.follow(this.stores.get(RBAC, 'v1', plural)!, (type, o) => this.put(type, o));
  }

  stop(): Promise<void> {
    return this.followers.stop();
  }

  private put(type: string, o: KubeObject): void {
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, { ...(o as unknown as RBACObject), kind: o.kind } as RBACObject);
    this.dirty = true;
  }

  /** Rebuilt lazily: a burst of changes (an apply of many roles) costs one rebuild. */
  private evaluator(): RBACAuthorizer {
    if (this.dirty) {
      this.current = new RBACAuthorizer([...this.objects.values()]);
      this.dirty = false;
    }
    return this.current;
  }

  authorize(a: RequestAttributes): Promise<Decision> {
    return this.evaluator().authorize(a);
  }

  rulesFor(user: UserInfo, namespace: string): Promise<Rules> {
    return this.evaluator().rulesFor(user, namespace);
  }
}
