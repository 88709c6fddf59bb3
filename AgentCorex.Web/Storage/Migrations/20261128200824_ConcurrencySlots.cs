using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations
{
    /// <inheritdoc />
    public partial class ConcurrencySlots : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "parked",
                table: "jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "direct_executions",
                columns: table => new
                {
                    execution_id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    key_id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    expires_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_direct_executions", x => x.execution_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_parked_status",
                table: "jobs",
                columns: new[] { "owner_key_id", "parked", "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_direct_executions_key_expires",
                table: "direct_executions",
                columns: new[] { "key_id", "expires_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "direct_executions");

            migrationBuilder.DropIndex(
                name: "ix_jobs_owner_parked_status",
                table: "jobs");

            migrationBuilder.DropColumn(
                name: "parked",
                table: "jobs");
        }
    }
}
