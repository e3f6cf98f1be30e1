// The player's entry point: applies the theme, builds the shell and shows
// the screen the URL names — the session list, or a replay.
import { applyTheme } from './theme.js';
import { createShell } from './shell.js';
import { current, onChange, go } from './router.js';
import { listView } from './list/listview.js';
import { replayView } from './replay/replayview.js';
import { importFile, ImportError } from './importer.js';
import { toast } from './toast.js';
import { closeDialogs } from './dialog.js';

applyTheme();

const shell = createShell(document.getElementById('app'), {
  async onImport(file) {
    try {
      const id = await importFile(file);
      go({ import: id });
    } catch (e) {
      toast(e instanceof ImportError ? e.message : `Could not read "${file.name}": ${e.message}`, 'error');
    }
  },
});

let screen = null;
let kind = '';

function render(params) {
  const next = params.session || params.import ? 'replay' : 'list';
  if (screen && next === kind && screen.update(params)) return;
  closeDialogs();
  if (screen) screen.destroy();
  kind = next;
  screen = next === 'replay' ? replayView(shell, params) : listView(shell, params);
  scrollTo(0, 0);
}

onChange(render);
render(current());
