export { main } from './main.js';
export { BaseCommand, type RastContext } from './BaseCommand.js';
