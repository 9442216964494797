<?php

// tests/roundcube/arg_test.php - unit tests of imapexec_client::arg()
// (how every EXECUTE argument goes on the wire) and of the output parser.
// Plain asserts; exit status 1 on a failure.  Run by 68-roundcube.bats.

require __DIR__ . '/lib.php';

$c = 'imapexec_client';

// plain addresses: a quoted string, never an atom
same($c::arg('spam@example.net'), '"spam@example.net"', 'plain address');
same($c::arg(''), '""', 'empty');
same($c::arg('NIL'), '"NIL"', 'NIL stays a string');
// quotes and backslashes are escaped inside the quoted string
same($c::arg('"a\"b"@x'), '"\"a\\\\\"b\"@x"', 'quotes and backslash');
same($c::arg('a\\'), '"a\\\\"', 'trailing backslash');
// a leading dash is just a character (imapexec refuses it, clearly)
same($c::arg('-x@y'), '"-x@y"', 'leading dash');
same($c::arg('--list=whitelist'), '"--list=whitelist"', 'option-like');
// literal syntax inside a value is text
same($c::arg('{5}'), '"{5}"', 'literal header as text');
same($c::arg('~{5}'), '"~{5}"', 'literal8 header as text');
same($c::arg('a b (c) [d] %*'), '"a b (c) [d] %*"', 'specials');
same($c::arg("a\tb"), "\"a\tb\"", 'TAB is fine quoted');
// CR, LF, 8-bit and other controls: a literal with the exact octets
same($c::arg("a\r\nb EXECUTE mark"), "{17}\r\na\r\nb EXECUTE mark", 'CRLF');
same($c::arg("x\ny"), "{3}\r\nx\ny", 'LF');
same($c::arg("x\ry"), "{3}\r\nx\ry", 'CR');
same($c::arg("{5}\r\nhello"), "{10}\r\n{5}\r\nhello", 'literal header and CRLF');
same($c::arg("j\xC3\xBCrgen@example.de"), "{18}\r\nj\xC3\xBCrgen@example.de", '8-bit UTF-8');
same($c::arg("\xFF"), "{1}\r\n\xFF", 'lone 8-bit octet');
same($c::arg("a\x1Bb"), "{3}\r\na\x1Bb", 'ESC');
same($c::arg("a\x7Fb"), "{3}\r\na\x7Fb", 'DEL');
// NUL: no IMAP string holds it; refused
same($c::arg("a\0b"), null, 'NUL refused');
// length: quoted up to QUOTED_MAX, a literal beyond
$long = str_repeat('a', $c::QUOTED_MAX);
same($c::arg($long), '"' . $long . '"', 'longest quoted');
same($c::arg($long . 'b'), '{' . ($c::QUOTED_MAX + 1) . "}\r\n" . $long . 'b', 'too long: literal');
// the number is the octet count, not characters
same(substr($c::arg("\xE2\x82\xAC"), 0, 5), "{3}\r\n", 'octets counted');

// a quoted argument is one IMAP string: unquoting gives the value back
foreach (['"a\"b"@x', 'a\\\\b', '\\"', 'plain', '{5}', '-x@y'] as $v) {
    same($c::unquote(substr($c::arg($v), 1, -1)), $v, "round trip of $v");
}

// output(): quoted chunks get their end of line back, literals are exact
$raw = "* EXECUTE (TAG \"A0003\") OUT \"a@example.net\"\r\n"
    . "* EXECUTE (TAG \"A0003\") ERR \"warn \\\"x\\\" \\\\\"\r\n"
    . "* EXECUTE (TAG \"A0003\") OUT {7}\r\nb\r\n* c\n\r\n"
    . "* EXECUTE (TAG \"A0003\") OUT ~{3}\r\nd\ne\r\n"
    . "* EXECUTE (TAG \"A0003\") EXIT 0\r\n";
same($c::output($raw), [
        ['OUT', "a@example.net\n"],
        ['ERR', "warn \"x\" \\\n"],
        ['OUT', "b\r\n* c\n"],
        ['OUT', "d\ne"],
    ], 'output chunks');
same($c::output("* EXECUTE SERVICE blacklist () \"x\"\r\n"), [], 'no output in discovery');

// fill(): one pass; a value holding a placeholder stays as it is (a
// From of "$text"@x must not pull the server's text in, nor "$command")
$t = 'Could not update your sender lists for $sender ($command): $text';
same(imapexec::fill($t, ['sender' => '"$text"@x', 'command' => 'blacklist add', 'text' => 'error: $sender $command']),
    'Could not update your sender lists for "$text"@x (blacklist add): error: $sender $command', 'fill: one pass');
same(imapexec::fill('$a$b', ['a' => '$b', 'b' => '1']), '$b1', 'fill: values not rescanned');
same(imapexec::fill('x $none', []), 'x $none', 'fill: unknown names stay');
// printable(): a sender with CR LF (a decoded From) is one line in a message
same(imapexec::printable("evil@example.net\r\nX EXECUTE mark\0"), 'evil@example.net??X EXECUTE mark?', 'printable');
same(imapexec::printable("j\xC3\xBCrgen@example.de"), "j\xC3\xBCrgen@example.de", 'printable keeps UTF-8');

done();
