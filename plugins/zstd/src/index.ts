import { definePlugin, packageIdentity, TransformStage } from '@rast-backup/core';
import * as t from 'typanion';
import { compressBound } from './CompressionContext.js';
import { inPlaceMargin } from './InPlaceMargin.js';

const { name: PLUGIN_NAME, version: VERSION } = packageIdentity(import.meta.url);

/** `[compression]`: zstd on every part (default level 3), or none. Always decodes zstd parts on restore. */
export default definePlugin({
  name: PLUGIN_NAME,
  version: VERSION,
  configKey: 'compression',
  activation: 'always',
  options: {
    /** `zstd` (default) or `none`. */
    algorithm: t.isOptional(t.isEnum(['zstd', 'none'])),
    /** zstd level, 1 (fast) to 22 (small); default 3. */
    level: t.isOptional(t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 22)])),
  },
  apply(pipeline, options) {
    pipeline.hooks.untransform.for('zstd').tap(PLUGIN_NAME, () => ({
      worker: { module: new URL('./ZstdDecoderStage.js', import.meta.url).href, headroom: inPlaceMargin },
    }));
    if (options.algorithm === 'none') return;
    const level = options.level ?? 3;
    pipeline.hooks.transforms.tap(PLUGIN_NAME, (transforms) => [
      ...transforms,
      {
        name: 'zstd',
        plugin: `${PLUGIN_NAME}@${VERSION}`,
        stage: TransformStage.COMPRESS,
        params: { level },
        worker: { module: new URL('./ZstdStage.js', import.meta.url).href, options: { level }, bound: compressBound },
      },
    ]);
  },
});
