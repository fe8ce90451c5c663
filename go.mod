module github.com/licensehost/licensehost

go 1.26
