<?php

// tests/roundcube/router.php - router of `php -S` for the tests' Roundcube
// (tests/roundcube.bash): static files from the document root as they
// are, everything else to Roundcube's index.php with INSTALL_PATH the
// tests' own document root (RC_ROOT), as Debian's public_html/index.php
// does for /var/lib/roundcube.

$root = getenv('RC_ROOT');
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);

if ($path != '/' && substr($path, -4) != '.php' && is_file($root . $path)) {
    return false;
}

define('INSTALL_PATH', $root . '/');
chdir($root);
require $root . '/index.php';
