// The experts a session composes and the router that weighs them, kept together: adding an expert
// extends the router with its example prompts' features (replaying the bundle's own features),
// removing one restores exactly the router it had before. No GPU, no ORT: tested on its own.
import { extendRouter, judgeConfidence, routeWeights, topK, type Confidence, type ConfidenceThresholds, type RouterModel } from '../../core/router/index.ts';
import type { BundleRouter, ExclusiveModule } from '../../core/twin/index.ts';
import type { ComposerExpert } from '../composer/types.ts';

export interface SessionExpert {
  id: string;
  name: string;
  description: string;
  rank: number;
  bytes: number;
  /** Shipped in the bundle, or added by the user in this browser. */
  origin: 'bundle' | 'custom';
  /** What the file was: twinmerge expert module or PEFT LoRA adapter. */
  format: 'twinmerge' | 'peft' | 'checkpoint';
  enabled: boolean;
  examplePrompts: string[];
  fullWeightsFile: string | undefined;
  module: ExclusiveModule;
  /** Router class index. */
  cls: number;
}

export interface RoutingSettings {
  routingTemperature: number;
  routingTopK: number;
}

type Replay = BundleRouter['replay'];

export class ExpertSetError extends Error {
  constructor(
    readonly code: 'UNKNOWN_EXPERT' | 'DUPLICATE' | 'BAD_REQUEST',
    message: string,
  ) {
    super(message);
    this.name = 'ExpertSetError';
  }
}

export class ExpertSet {
  private experts: SessionExpert[];
  private current: RouterModel;
  private replay: Replay;
  private readonly bundleRouter: RouterModel;
  private readonly bundleReplay: Replay;
  /** Example-prompt features of the user's experts, in the order they were added. */
  private readonly customFeatures = new Map<string, Float32Array[]>();

  constructor(router: BundleRouter, experts: readonly Omit<SessionExpert, 'cls'>[]) {
    this.bundleRouter = router.model;
    this.bundleReplay = { features: [...router.replay.features], labels: [...router.replay.labels] };
    this.current = router.model;
    this.replay = { features: [...router.replay.features], labels: [...router.replay.labels] };
    this.experts = experts.map((e) => {
      const cls = router.labels.indexOf(e.id);
      if (cls < 0) throw new ExpertSetError('BAD_REQUEST', `expert "${e.id}" has no router class`);
      return { ...e, cls };
    });
  }

  list(): SessionExpert[] {
    return [...this.experts];
  }

  get router(): RouterModel {
    return this.current;
  }

  get(id: string): SessionExpert {
    const e = this.experts.find((x) => x.id === id);
    if (!e) throw new ExpertSetError('UNKNOWN_EXPERT', `no expert "${id}"`);
    return e;
  }

  composerExperts(experts: readonly SessionExpert[] = this.experts): ComposerExpert[] {
    return experts.map((e) => ({ id: e.id, module: e.module }));
  }

  /** Whether any enabled expert fits the message (thresholds from the manifest; none: always confident). */
  confidence(features: Float32Array, thresholds: ConfidenceThresholds | undefined): Confidence | null {
    if (!thresholds) return null;
    const enabled = Array.from({ length: this.current.numClasses }, (_, c) => this.experts.some((e) => e.cls === c && e.enabled));
    return judgeConfidence(this.current, this.replay.features, features, enabled, thresholds);
  }

  /** Routing weights for one message's router features, over the enabled experts (top-k, renormalized). */
  route(features: Float32Array, s: RoutingSettings): Record<string, number> {
    const p = routeWeights(this.current, features, { temperature: s.routingTemperature });
    const enabled = this.experts.filter((e) => e.enabled);
    let w: ArrayLike<number> = enabled.map((e) => p[e.cls] ?? 0);
    if (s.routingTopK > 0 && enabled.length > 0) w = topK(w, s.routingTopK);
    const sum = Array.from(w).reduce((a, b) => a + b, 0);
    const routing: Record<string, number> = {};
    enabled.forEach((e, i) => (routing[e.id] = sum > 0 ? w[i]! / sum : 0));
    return routing;
  }

  /**
   * The set with one more expert, and the router extended by its example features; `commit()` makes
   * it current. Nothing changes until then (the session validates the module with its composer first).
   */
  prepareAdd(expert: Omit<SessionExpert, 'cls'>, features: Float32Array[]): { experts: SessionExpert[]; trainMs: number; commit: () => SessionExpert } {
    if (this.experts.some((e) => e.id === expert.id)) throw new ExpertSetError('DUPLICATE', `an expert "${expert.id}" exists already`);
    if (features.length < 4) throw new ExpertSetError('BAD_REQUEST', 'give at least 4 example prompts so the router can learn the task');
    const t0 = performance.now();
    const trained = extendRouter(this.current, this.replay, features);
    const trainMs = performance.now() - t0;
    const added: SessionExpert = { ...expert, cls: this.current.numClasses };
    const experts = [...this.experts, added];
    return {
      experts,
      trainMs,
      commit: () => {
        this.experts = experts;
        this.current = trained.model;
        this.replay = { features: [...this.replay.features, ...features], labels: [...this.replay.labels, ...features.map(() => added.cls)] };
        this.customFeatures.set(added.id, features);
        return added;
      },
    };
  }

  /** The set without a user's expert; `commit()` restores the router it had before that expert was added. */
  prepareRemove(id: string): { experts: SessionExpert[]; commit: () => void } {
    const e = this.get(id);
    if (e.origin === 'bundle') throw new ExpertSetError('BAD_REQUEST', `${e.name} is part of the bundle; disable it instead`);
    const experts = this.experts.filter((x) => x.id !== id).map((x) => (x.cls > e.cls ? { ...x, cls: x.cls - 1 } : x));
    return {
      experts,
      commit: () => {
        // The bundle's router extended again with the remaining user experts in the order they were
        // added: extension is deterministic, so this is exactly the earlier router.
        this.customFeatures.delete(id);
        let router = this.bundleRouter;
        const replay: Replay = { features: [...this.bundleReplay.features], labels: [...this.bundleReplay.labels] };
        for (const x of experts.filter((x) => x.origin === 'custom')) {
          const f = this.customFeatures.get(x.id)!;
          router = extendRouter(router, replay, f).model;
          replay.features.push(...f);
          replay.labels.push(...f.map(() => router.numClasses - 1));
        }
        this.experts = experts;
        this.current = router;
        this.replay = replay;
      },
    };
  }

  setEnabled(id: string, enabled: boolean): void {
    this.get(id).enabled = enabled;
  }
}
