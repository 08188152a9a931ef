import { definePlugin, displayPath, packageIdentity } from '@rast-backup/core';
import { PruneCommand } from './PruneCommand.js';
import { prune } from './Pruner.js';
import { newChainReason } from './RetentionPolicy.js';
import { hasCountingRule, noCountingRule, normaliseSettings, RETENTION_OPTIONS, retentionSettings } from './RetentionSettings.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

export { applyRetention, removalOrder, newChainReason, periodsOf, describeRules } from './RetentionPolicy.js';
export type { RetentionRules, RetentionCandidate, RetentionDecision, ChainRules } from './RetentionPolicy.js';
export { prune, type PruneReport, type PruneOptions, type LeftoverDecision } from './Pruner.js';
export { settingsOf, type RetentionSettings } from './RetentionSettings.js';
export { PruneCommand } from './PruneCommand.js';

/**
 * `[retention]`: which backups `prune` keeps, when `create --parent latest` starts a new chain, prune after create.
 * Always applied, so that `prune --keep-*` works without the table; without it nothing is tapped.
 */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'retention',
  activation: 'always',
  options: RETENTION_OPTIONS,
  commands: [PruneCommand],
  apply(pipeline, options, context) {
    const settings = normaliseSettings(options, context.configFile ?? 'embedded default config');
    retentionSettings.set(pipeline, settings);

    if (settings.chain.fullEvery !== undefined || settings.chain.fullAfterDays !== undefined) {
      pipeline.hooks.parent.tapPromise(PLUGIN_NAME, async (parent, request) => {
        if (!parent) return parent;
        let chain;
        try {
          chain = await request.chain();
        } catch (error) {
          context.log.warn(
            `the chain of backup ${parent.id} is broken (${(error as Error).message}): starting a new full backup of ${displayPath(request.path)}`,
          );
          return null;
        }
        const reason = newChainReason(chain, settings.chain, new Date());
        if (!reason) return parent;
        context.log.info(`starting a new full backup of ${displayPath(request.path)}: ${reason}`);
        return null;
      });
    }

    if (settings.pruneAfterCreate) {
      if (!hasCountingRule(settings.rules)) {
        throw noCountingRule(settings, 'retention.prune_after_create', '');
      }
      pipeline.hooks.succeeded.tapPromise(PLUGIN_NAME, async (event) => {
        if (event.operation !== 'create') return;
        const report = await prune(context.runtime(), settings, { dryRun: false });
        context.log.info(`prune after create: removed ${report.removed.length} of ${report.backups.length} backups`);
      });
    }
  },
});
