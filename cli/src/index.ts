export { main } from './main.js';
export { BaseCommand, type RastContext } from '@rast-backup/core/command';
