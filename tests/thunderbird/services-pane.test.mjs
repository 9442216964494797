// services-pane.test.mjs - node --test: the output pane of the add-on's
// services page (src/thunderbird/addon/services/services.js, print())
// against a minimal DOM of spans; the page's own code, cut out of the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const SRC = readFileSync(new URL('../../src/thunderbird/addon/services/services.js', import.meta.url), 'utf8');

// fakeDocument(): a document with one element, #output, whose children
// are spans (append, firstChild, remove, textContent).
function fakeDocument() {
    const out = {
        children: [],
        append(n) { n.parent = this; this.children.push(n); },
        get firstChild() { return this.children[0] ?? null; },
        get lastChild() { return this.children[this.children.length - 1] ?? null; },
        get textContent() { return this.children.map(c => c.textContent).join(''); },
        set textContent(v) { this.children = []; },
    };
    return {
        out,
        getElementById: id => (id === 'output' ? out : null),
        createElement: () => ({
            className: '', textContent: '',
            remove() { const i = this.parent.children.indexOf(this); this.parent.children.splice(i, 1); },
        }),
    };
}

// pane(): { print, MAX_PANE, out } of services.js over a fake document.
function pane() {
    const from = SRC.indexOf('let paneChars');
    const a = SRC.indexOf('// The output pane keeps');
    const b = SRC.indexOf('// exitText(');
    assert.ok(from > 0 && a > from && b > a, 'services.js: print() not found where expected');
    const doc = fakeDocument();
    const code = 'const $ = id => document.getElementById(id);\n' +
        SRC.slice(from, SRC.indexOf('\n', from)) + '\n' + SRC.slice(a, b) + '\nreturn { print, MAX_PANE };';
    return { ...new Function('document', code)(doc), out: doc.out };
}

test('services pane: the pane never holds more than MAX_PANE characters', () => {
    const { print, MAX_PANE, out } = pane();
    for (let i = 0; i < 300; i++) {
        print('x'.repeat(9973), i % 2 ? 'err' : '');
    }
    assert.ok(out.textContent.length <= MAX_PANE);
});

test('services pane: a run with ~MAX_PANE characters of output keeps it when the end marker follows', () => {
    const { print, MAX_PANE, out } = pane();
    // run(): print(outText); print(errText, "err"); print("\n[exit 0]\n", "end")
    print('o'.repeat(MAX_PANE - 5));
    print('', 'err');
    print('\n[exit 0]\n', 'end');
    const shown = out.textContent;
    assert.ok(shown.length >= MAX_PANE - 10, `the pane shows ${shown.length} characters: ${JSON.stringify(shown.slice(0, 40))}`);
});

test('services pane: output cut to MAX_PANE never begins with half a surrogate pair', () => {
    const { print, MAX_PANE, out } = pane();
    print('😀'.repeat(MAX_PANE / 2 + 1) + 'a');
    const first = out.textContent.charCodeAt(0);
    assert.ok(!(first >= 0xdc00 && first <= 0xdfff), 'the pane starts with a lone low surrogate (shown as U+FFFD)');
});

test('services pane: a million 1-character pieces make at most 4096 elements', () => {
    const { print, MAX_PANE, out } = pane();
    for (let i = 0; i < MAX_PANE + 10; i++) {
        print('.');
    }
    assert.ok(out.children.length <= 4096, `${out.children.length} spans in the pane`);
});

test('services pane: output and errors that alternate in small pieces make at most 4096 elements, the newest kept', () => {
    const { print, out } = pane();
    for (let i = 0; i < 20000; i++) {
        print(`${i}\n`, i % 2 ? 'err' : '');
    }
    assert.ok(out.children.length <= 4096, `${out.children.length} elements`);
    assert.equal(out.lastChild.textContent, '19999\n');
    assert.equal(out.lastChild.className, 'err');
    assert.equal(out.firstChild.textContent, `${20000 - out.children.length}\n`);
});
